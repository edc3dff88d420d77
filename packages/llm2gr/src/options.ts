import { runtimeOptionsShape, z } from '@quarry/core';
import type { TokenTrie } from './trie.js';
import type { TokenVectors } from './token-similarity.js';

// Strict schemas of the scorers' and FM-index's public options: a misspelled key is a
// ConfigError naming the closest valid one instead of being silently ignored.

/** `new CorpusStatsScorer(codec, fm, options)`; titleWeight, queryWeight, similarTokens, minSimilarity are also llm2gr plugin options. */
export const corpusStatsScorerOptionsSchema = z.strictObject({
  queryWeight: z.number().optional(),
  titleWeight: z.number().optional(),
  smoothing: z.number().optional(),
  ignoreText: z.array(z.string()).optional(),
  minIcf: z.number().optional(),
  fluencyWeight: z.number().optional(),
  trie: z.custom<TokenTrie>(() => true).optional(),
  lookahead: z.enum(['document', 'title']).optional(),
  maxLocate: z.number().optional(),
  tokenVectors: z.custom<TokenVectors>(() => true).optional(),
  similarTokens: z.number().optional(),
  minSimilarity: z.number().optional(),
  titleMarker: z.string().optional(),
  passageMarker: z.string().optional(),
});

/** `OnnxCausalLm.load(dir, options)`. */
export const onnxCausalLmOptionsSchema = z.strictObject({
  modelFile: z.string().optional(),
  foldOutOfVocab: z.boolean().optional(),
  threads: z.number().optional(),
  cacheEntries: z.number().optional(),
  addBos: z.boolean().optional(),
  lastLogitsOnly: z.boolean().optional(),
});

/** `new OpenAIScorer(client, codec, options)`. */
export const openAIScorerOptionsSchema = z.strictObject({
  topLogprobs: z.number().optional(),
  maxBiasTokens: z.number().optional(),
  bias: z.number().optional(),
  promptAsTokenIds: z.boolean().optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
});

/** `FmIndex.build(docs, options)`. */
export const fmIndexBuildOptionsSchema = z.strictObject({ sampleRate: z.number().optional(), ...runtimeOptionsShape });
