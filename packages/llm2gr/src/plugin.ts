import { ConfigError, definePlugin, throwIfAborted, z, type DocStore, type PluginContext } from '@quarry/core';
import { OpenAIClient } from '@quarry/llm';
import { TokenizerCodec } from './codec.js';
import { CorpusStatsScorer } from './corpus-scorer.js';
import { Llm2grIndex, Llm2grRetriever, llm2grGenerationShape } from './llm2gr.js';
import { OnnxCausalLm } from './onnx-scorer.js';
import { OpenAIScorer } from './openai-scorer.js';
import { ownEncoderTokenVectors } from './token-similarity.js';

const schema = z
  .object({
    scorer: z
      .enum(['default', 'onnx', 'openai'])
      .default('default')
      .describe("'default': corpus statistics, no LLM; 'onnx': a local causal LM (model: DIR); 'openai': an OpenAI-compatible server (model: DIR of its tokenizer.json)"),
    model: z
      .string()
      .min(1)
      .optional()
      .describe("onnx: folder with tokenizer.json + model.onnx; openai: folder with the server model's tokenizer.json; default: tokenizer folder (default the bundled BERT-uncased)"),
    llmUrl: z.string().min(1).optional().describe('openai: base URL (default $QUARRY_LLM_URL)'),
    llmModel: z.string().min(1).optional().describe('openai: model name (default $QUARRY_LLM_MODEL)'),
    topLogprobs: z.number().int().min(1).max(100).default(20).describe('openai: alternatives asked per step'),
    foldOutOfVocab: z.boolean().default(false).describe('onnx: fold token ids beyond the model vocabulary (test fixtures only)'),
    // The generation options: one definition, also checked by new Llm2grRetriever.
    ...llm2grGenerationShape,
    titleWeight: z.number().min(0).default(100).describe('default scorer: inverse temperature of the title lookahead'),
    queryWeight: z.number().min(0).default(1).describe('default scorer: question-token bonus outside titles'),
    similarTokens: z.number().int().min(0).max(50).default(0).describe("default scorer: nearest tokens (own encoder's token vectors) each question token also counts; 0 (default) = exact tokens only"),
    minSimilarity: z.number().min(-1).max(1).default(0.4).describe('default scorer: least cosine similarity of such a token'),
    encoder: z.string().min(1).optional().describe("default scorer: folder of an own static encoder for token vectors (default @quarry/encoders' bundled scifact-static)"),
    sampleRate: z.number().int().min(1).max(1024).default(32).describe('FM-index suffix-array sampling (locate speed vs size)'),
  })
  .strict();

export type Llm2grPluginOptions = z.output<typeof schema>;

async function makeScorer(options: Llm2grPluginOptions): Promise<{ codec: TokenizerCodec | OnnxCausalLm | OpenAIScorer; finish: (index: Llm2grIndex) => Llm2grRetriever }> {
  const generation = {
    titleBeam: options.titleBeam,
    keepTitles: options.keepTitles,
    passageBeam: options.passageBeam,
    prefixLength: options.prefixLength,
    passageLength: options.passageLength,
    alpha: options.alpha,
    maxTitleTokens: options.maxTitleTokens,
    titlePrompt: options.titlePrompt,
    passagePrompt: options.passagePrompt,
    titleEnd: options.titleEnd,
    hits: options.hits,
  };
  if (options.scorer === 'onnx') {
    if (!options.model) throw new ConfigError('The llm2gr onnx scorer needs a model folder: pass --model DIR (tokenizer.json + model.onnx).');
    const lm = await OnnxCausalLm.load(options.model, { foldOutOfVocab: options.foldOutOfVocab });
    return { codec: lm, finish: (index) => new Llm2grRetriever(index, lm, generation) };
  }
  if (options.scorer === 'openai') {
    if (!options.model) throw new ConfigError("The llm2gr openai scorer needs the server model's tokenizer: pass --model DIR (a folder with its tokenizer.json).");
    const client = new OpenAIClient({ ...(options.llmUrl ? { baseUrl: options.llmUrl, baseUrlFrom: 'config' as const } : {}), ...(options.llmModel ? { model: options.llmModel } : {}) });
    if (!client.model) throw new ConfigError('The llm2gr openai scorer needs a model name: pass --llm-model NAME or set QUARRY_LLM_MODEL.');
    const scorer = new OpenAIScorer(client, TokenizerCodec.fromDir(options.model), { topLogprobs: options.topLogprobs });
    return { codec: scorer, finish: (index) => new Llm2grRetriever(index, scorer, generation) };
  }
  const codec = options.model ? TokenizerCodec.fromDir(options.model) : TokenizerCodec.fromDir();
  const tokenVectors = options.similarTokens > 0 ? await ownEncoderTokenVectors(codec, ...(options.encoder ? [options.encoder] : [])) : undefined;
  return {
    codec,
    finish: (index) => {
      const ignoreText = [options.titlePrompt, options.passagePrompt].map((p) => p.split('{query}').join(' '));
      const scorer = new CorpusStatsScorer(codec, index.fm, {
        trie: index.trie,
        titleWeight: options.titleWeight,
        queryWeight: options.queryWeight,
        ignoreText,
        ...(tokenVectors ? { tokenVectors, similarTokens: options.similarTokens, minSimilarity: options.minSimilarity } : {}),
      });
      return new Llm2grRetriever(index, scorer, generation);
    },
  };
}

function build(options: Llm2grPluginOptions, context: PluginContext, codec: { vocabSize: number; encode(t: string): number[]; decode(ids: readonly number[]): string }): Llm2grIndex {
  const docs: DocStore = context.docs;
  return Llm2grIndex.build(docs, codec, {
    total: docs.size,
    sampleRate: options.sampleRate,
    ...(context.signal ? { signal: context.signal } : {}),
    ...(context.onProgress ? { onProgress: context.onProgress } : {}),
  });
}

/**
 * The `llm2gr` retriever plugin: builds the title trie and the FM-index with the scorer's
 * tokenizer, then generates titles and passage prefixes per query (LLM2GR).
 */
export const llm2grPlugin = definePlugin({
  kind: 'retriever',
  name: 'llm2gr',
  description: 'LLM2GR generative retrieval: titles by trie-constrained beam search, passages by FM-index-constrained prefixes. Scorers: default (corpus statistics, no LLM), onnx, openai.',
  schema,
  async create(options: Llm2grPluginOptions, context) {
    throwIfAborted(context.signal, 'LLM2GR indexing');
    const { codec, finish } = await makeScorer(options);
    return finish(build(options, context, codec));
  },
  async load(dir: string, options: Llm2grPluginOptions) {
    const { finish } = await makeScorer(options);
    return finish(await Llm2grIndex.load(dir));
  },
  pathOptions: ['model', 'encoder'],
  cliOptions: [
    { flag: 'scorer', option: 'scorer', type: 'string', description: 'llm2gr next-token scorer: default (corpus statistics, no LLM) | onnx | openai' },
    { flag: 'model', option: 'model', type: 'string', description: 'llm2gr model folder (onnx: tokenizer.json + model.onnx; openai: the server model tokenizer.json)' },
    { flag: 'llm-url', option: 'llmUrl', type: 'string', description: 'LLM base URL, e.g. http://127.0.0.1:8000/v1 (default $QUARRY_LLM_URL)' },
    { flag: 'llm-model', option: 'llmModel', type: 'string', description: 'LLM model name (default $QUARRY_LLM_MODEL)' },
  ],
});
