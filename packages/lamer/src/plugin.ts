import { join } from 'node:path';
import { ConfigError, definePlugin, throwIfAborted, z, type PluginCliOption, type PluginContext } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { OpenAIClient, OpenAIGenerator } from '@quarry/llm';
import { LlmAnswers, type AnswerSource } from './answers.js';
import { ExtractiveAnswers } from './extractive.js';
import { LameR, LameRDenseRetriever, LameRRetriever } from './lamer.js';
import { lamerShape, llmAnswerShape } from './options.js';

/** The model the extractive source selects sentences with by default: Quarry's own static encoder trained without any SciFact query. */
export const DEFAULT_SELECTOR_MODEL = 'scifact-static-selfsup';

// The keys LameR and LlmAnswers share come from ./options.js (the classes check them there); order kept as before.
const lamerOptions = {
  mode: lamerShape.mode,
  generator: z
    .enum(['extractive', 'openai'])
    .default('extractive')
    .describe("'openai': an OpenAI-compatible LLM server; 'extractive': sentences from the candidates (pseudo-relevance feedback, no LLM)"),
  candidates: lamerShape.candidates,
  answers: lamerShape.answers,
  candidateTokens: lamerShape.candidateTokens,
  template: lamerShape.template,
  queryRepeats: lamerShape.queryRepeats,
  selector: z.enum(['dense', 'lexical', 'hybrid']).default('dense').describe('extractive: how sentences are chosen'),
  encoder: z.string().min(1).optional().describe(`extractive: encoder folder for the dense selector (default: bundled ${DEFAULT_SELECTOR_MODEL})`),
  llmUrl: z.string().min(1).optional().describe('openai: base URL, e.g. http://127.0.0.1:8080/v1 (default $QUARRY_LLM_URL)'),
  llmModel: z.string().min(1).optional().describe('openai: model name (default $QUARRY_LLM_MODEL)'),
  llmApi: z.enum(['chat', 'completions']).default('chat').describe('openai: chat or text completions'),
  ...llmAnswerShape,
  timeoutMs: z.number().int().positive().default(120_000).describe('openai: per-attempt timeout'),
  retries: z.number().int().min(0).default(4).describe('openai: retries on 429/5xx/network errors'),
  concurrency: z.number().int().positive().default(4).describe('openai: requests in flight; also the queries of a batch expanded at once by the retrievers'),
  llmCacheDir: z.string().min(1).optional().describe('openai: generation cache folder (default <plugin cache>/llm when the host gives one)'),
};

const rewriterSchema = z.object(lamerOptions).strict();
const retrieverSchema = z
  .object({
    ...lamerOptions,
    k1: z.number().min(0).max(10).default(0.9).describe('BM25 k1 of both rounds'),
    b: z.number().min(0).max(1).default(0.4).describe('BM25 b of both rounds'),
    fuse: z.enum(['auto', 'none', 'rrf']).default('auto').describe("fuse the second round with the first (RRF); 'auto': for the extractive source only"),
    fuseK: z.number().nonnegative().default(60).describe('RRF k'),
    fuseDepth: z.number().int().positive().default(1000).describe('hits of each round fused'),
  })
  .strict();
const denseSchema = z
  .object({
    ...lamerOptions,
    k1: z.number().min(0).max(10).default(0.9).describe('BM25 k1 of the first round'),
    b: z.number().min(0).max(1).default(0.4).describe('BM25 b of the first round'),
    denseEncoder: z.string().min(1).optional().describe('encoder folder of the second (dense) round (default: bundled scifact-static)'),
  })
  .strict();

export type LamerRewriterOptions = z.output<typeof rewriterSchema>;
export type LamerPluginOptions = z.output<typeof retrieverSchema>;
export type LamerDensePluginOptions = z.output<typeof denseSchema>;

/** The answer source an options object asks for. The API key only ever comes from the environment, and goes only to the environment's endpoint. */
export async function answerSourceFor(o: LamerRewriterOptions, context: PluginContext): Promise<AnswerSource> {
  if (o.generator === 'openai') {
    const cacheDir = o.llmCacheDir ?? (context.cacheDir ? join(context.cacheDir, 'llm') : undefined);
    const client = new OpenAIClient({
      // llmUrl comes from a pipeline file or an index manifest: the environment's key goes there only if it is the environment's endpoint.
      ...(o.llmUrl ? { baseUrl: o.llmUrl, baseUrlFrom: 'config' as const } : {}),
      ...(o.llmModel ? { model: o.llmModel } : {}),
      timeoutMs: o.timeoutMs,
      retries: o.retries,
      concurrency: o.concurrency,
      ...(cacheDir ? { cacheDir } : {}),
    });
    if (!client.model) throw new ConfigError('The openai generator needs a model: pass --llm-model NAME (or llmModel) or set QUARRY_LLM_MODEL.');
    return new LlmAnswers(new OpenAIGenerator(client, { api: o.llmApi }), { temperature: o.temperature, maxTokens: o.maxTokens, ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  }
  if (o.mode === 'hyde') throw new ConfigError('HyDE mode shows no candidates, so the extractive source has nothing to extract from: use --generator openai with an LLM server.');
  const encoder = o.selector === 'lexical' ? undefined : await loadEncoder(o.encoder ?? bundledModelDir(DEFAULT_SELECTOR_MODEL));
  return ExtractiveAnswers.fromDocs(context.docs, { selector: o.selector, ...(encoder ? { encoder } : {}) }, context.signal);
}

function lamerFor(o: LamerRewriterOptions, source: AnswerSource): LameR {
  return new LameR(source, { mode: o.mode, candidates: o.candidates, answers: o.answers, candidateTokens: o.candidateTokens, template: o.template, queryRepeats: o.queryRepeats });
}

const cliOptions: readonly PluginCliOption[] = [
  { flag: 'generator', option: 'generator', type: 'string', description: "LameR answers: 'extractive' (no LLM) or 'openai' (an OpenAI-compatible server)" },
  { flag: 'llm-url', option: 'llmUrl', type: 'string', description: 'LLM base URL, e.g. http://127.0.0.1:8080/v1 (default $QUARRY_LLM_URL; key from $OPENAI_API_KEY)' },
  { flag: 'llm-model', option: 'llmModel', type: 'string', description: 'LLM model name (default $QUARRY_LLM_MODEL)' },
  { flag: 'answers', option: 'answers', type: 'number', description: 'LameR n: answers per query (default 5)' },
  { flag: 'candidates', option: 'candidates', type: 'number', description: 'LameR M: first-round candidates in the prompt (default 10)' },
  { flag: 'lamer-prompt', option: 'template', type: 'string', description: 'LameR/HyDE prompt: web, scientific, counter-argument, financial, or a template' },
];

/** A LameR retriever whose BM25 index can be saved (the CLI caches it). */
class PersistentLameR extends LameRRetriever {
  async save(dir: string): Promise<void> {
    await (this.retriever as Bm25Index).save(dir);
  }
}

function fuseFor(o: LamerPluginOptions, source: AnswerSource): { k: number; depth: number } | undefined {
  const on = o.fuse === 'rrf' || (o.fuse === 'auto' && source.kind === 'extractive');
  return on ? { k: o.fuseK, depth: o.fuseDepth } : undefined;
}

/**
 * The `lamer` rewriter: LameR in front of whatever retriever the pipeline has (the paper: BM25).
 * The first round is the pipeline's own retriever; hits carry `explain.lamer`.
 */
export const lamerRewriterPlugin = definePlugin({
  kind: 'rewriter',
  name: 'lamer',
  description: "LameR query augmentation (q a1 q a2 ... q an) from an LLM or the extractive source; 'hyde' mode without candidates.",
  schema: rewriterSchema,
  async create(options: LamerRewriterOptions, context) {
    throwIfAborted(context.signal, 'LameR');
    return lamerFor(options, await answerSourceFor(options, context));
  },
  pathOptions: ['encoder', 'llmCacheDir', 'denseEncoder'],
  cliOptions,
});

/** The `lamer` retriever over a built or loaded BM25 index (create and load differ only in that). */
async function persistentLameR(options: LamerPluginOptions, context: PluginContext, bm25: Bm25Index): Promise<PersistentLameR> {
  const source = await answerSourceFor(options, context);
  const fuse = fuseFor(options, source);
  return new PersistentLameR(lamerFor(options, source), bm25, context.docs, { parallel: options.concurrency, ...(fuse ? { fuse } : {}) });
}

/**
 * The `lamer` retriever: BM25 (built here from the pipeline's docs) for both rounds, and for
 * the extractive source a reciprocal rank fusion of the two rounds (`fuse: 'auto'`).
 */
export const lamerPlugin = definePlugin({
  kind: 'retriever',
  name: 'lamer',
  description: 'LameR over its own BM25 (both rounds), optionally fused with the first round; HyDE mode.',
  schema: retrieverSchema,
  async create(options: LamerPluginOptions, context) {
    const bm25 = await Bm25Index.build(context.docs, {
      k1: options.k1,
      b: options.b,
      total: context.docs.size,
      ...(context.signal ? { signal: context.signal } : {}),
      ...(context.onProgress ? { onProgress: context.onProgress } : {}),
    });
    return persistentLameR(options, context, bm25);
  },
  async load(dir: string, options: LamerPluginOptions, context) {
    return persistentLameR(options, context, await Bm25Index.load(dir, { k1: options.k1, b: options.b }));
  },
  pathOptions: ['encoder', 'llmCacheDir', 'denseEncoder'],
  cliOptions,
});

/** The paper's dense variant: BM25 first round, then mean over answers of (Enc(q) + Enc(a_i)) / 2, exact cosine search. */
export const lamerDensePlugin = definePlugin({
  kind: 'retriever',
  name: 'lamer-dense',
  description: 'LameR dense variant: query vector mean_i (Enc(q) + Enc(a_i)) / 2 with any encoder folder, exact search.',
  schema: denseSchema,
  async create(options: LamerDensePluginOptions, context) {
    const source = await answerSourceFor(options, context);
    const bm25 = await Bm25Index.build(context.docs, { k1: options.k1, b: options.b, total: context.docs.size, ...(context.signal ? { signal: context.signal } : {}) });
    const encoder = await loadEncoder(options.denseEncoder ?? bundledModelDir());
    return LameRDenseRetriever.build(lamerFor(options, source), encoder, bm25, context.docs, { parallel: options.concurrency, ...(context.signal ? { signal: context.signal } : {}) });
  },
  pathOptions: ['encoder', 'llmCacheDir', 'denseEncoder'],
  cliOptions,
});
