import { z, type Encoder } from '@quarry/core';
import type { Analyzer } from '@quarry/bm25';

/**
 * Options shared by the LameR plugins and the `LameR` / `LlmAnswers` classes: one definition,
 * so a pipeline file and code accept the same keys with the same ranges. Every public
 * constructor checks its options strictly (a misspelled key names the closest valid one).
 */
export const lamerShape = {
  mode: z.enum(['lamer', 'hyde']).default('lamer').describe("'lamer': candidates in the prompt; 'hyde': HyDE's prompt without candidates"),
  candidates: z.number().int().min(0).default(10).describe('M: first-round candidates in the prompt (paper 10)'),
  answers: z.number().int().min(1).default(5).describe('n: answers per query (paper 5)'),
  candidateTokens: z.number().int().min(1).default(128).describe('whitespace tokens kept of each candidate (paper 128)'),
  template: z.string().min(1).default('web').describe("prompt: 'web', 'scientific', 'counter-argument', 'financial' or a template with {query} and {candidates}"),
  queryRepeats: z.number().int().min(1).default(1).describe('copies of the query before each answer (paper 1)'),
};

/** Sampling options of the LLM answer source (the plugin's `temperature`, `maxTokens`, `seed`). */
export const llmAnswerShape = {
  temperature: z.number().min(0).max(2).default(0.7).describe('openai: sampling temperature'),
  maxTokens: z.number().int().positive().default(256).describe('openai: tokens per answer'),
  seed: z.number().int().optional().describe('openai: sampling seed, for servers that honour it'),
};

/** `new LameR(source, options)`. */
export const lameROptionsSchema = z.strictObject(lamerShape);
/** `new LlmAnswers(generator, options)`. */
export const llmAnswerOptionsSchema = z.strictObject(llmAnswerShape);

/** `new LameRRetriever(lamer, retriever, docs, options)`. */
export const lameRRetrieverOptionsSchema = z.strictObject({
  fuse: z.strictObject({ k: z.number().nonnegative().optional(), weights: z.tuple([z.number(), z.number()]).optional(), depth: z.number().int().positive().optional() }).optional(),
  parallel: z.number().int().positive().optional(),
});

/** `LameRDenseRetriever.build(..., options)`. */
export const lameRDenseBuildOptionsSchema = z.strictObject({
  batchSize: z.number().int().positive().optional(),
  signal: z.custom<AbortSignal>((v) => v === undefined || v instanceof AbortSignal, 'must be an AbortSignal').optional(),
  parallel: z.number().int().positive().optional(),
});

/** `ExtractiveAnswers.fromDocs(docs, options)`. */
export const extractiveOptionsSchema = z.strictObject({
  selector: z.enum(['lexical', 'dense', 'hybrid']).optional(),
  encoder: z.custom<Encoder>((v) => typeof (v as Encoder | null)?.encode === 'function', 'must be an Encoder').optional(),
  denseWeight: z.number().optional(),
  maxPerDoc: z.number().int().positive().optional(),
  minTokens: z.number().int().nonnegative().optional(),
  rankDecay: z.number().nonnegative().optional(),
  titles: z.boolean().optional(),
  analyzer: z.custom<Analyzer>((v) => typeof (v as Analyzer | null)?.analyze === 'function', 'must be an Analyzer').optional(),
});
