import { runtimeOptionsShape, z } from '@quarry/core';
import type { TokenStrings } from './explain.js';
import type { DocTokenStore } from './token-store.js';

// The colbert plugins' schemas live here so the classes they build check their options with
// the same definitions (a misspelled key names the closest valid one, in code and in files).

/** The `colbert` reranker plugin's default storage of document token vectors (see the README's table of nDCG and bytes). */
export const DEFAULT_STORAGE = 'int8';

const encoderOption = z.string().min(1).optional().describe('token encoder folder (an exported ColBERT model or a Quarry model); default: the bundled own model');
const dimOption = z.number().int().positive().optional().describe('Matryoshka token dimension (a prefix of the model output, re-normalised)');

/** The `colbert` reranker plugin's options. */
export const colbertRerankerPluginSchema = z
  .object({
    encoder: encoderOption,
    dim: dimOption,
    cacheSize: z.number().int().positive().default(50_000).describe('documents whose token vectors stay cached'),
    threads: z.number().int().positive().default(2).describe('onnxruntime threads for the MaxSim kernel'),
    storage: z
      .enum(['fp32', 'fp16', 'int8', 'residual-4', 'residual-2', 'none'])
      .default(DEFAULT_STORAGE)
      .describe('how document token vectors are stored at index time (fp32, fp16, int8, residual-4, residual-2; none = encode candidates per query)'),
  })
  .strict();

/** The `colbert` retriever plugin's options. */
export const colbertRetrieverPluginSchema = z
  .object({
    encoder: encoderOption,
    dim: dimOption.default(64),
    nbits: z
      .number()
      .int()
      .refine((v) => v === 1 || v === 2 || v === 4, 'nbits must be 1, 2 or 4 (bits per dimension of a compressed residual)')
      .default(2)
      .describe('bits per dimension of each compressed residual (1, 2 or 4)'),
    centroids: z.number().int().positive().optional().describe("centroid count (default: ColBERTv2's 2^floor(log2(16 sqrt(tokens))))"),
    sampleTokens: z
      .number()
      .int()
      .positive()
      .default(1 << 18)
      .describe('token vectors held in memory to fit centroids'),
    nprobe: z.number().int().positive().optional().describe('centroids probed per query token (default by k, as PLAID)'),
    centroidScoreThreshold: z.number().optional().describe('pruning threshold of the first centroid interaction (default by k)'),
    ndocs: z.number().int().positive().optional().describe('candidates kept after pruned centroid interaction (default by k)'),
    threads: z.number().int().positive().default(2).describe('onnxruntime threads'),
    seed: z.number().int().default(12345),
  })
  .strict();

const r = colbertRetrieverPluginSchema.shape;
const positiveInt = z.number().int().positive();

/** `ColbertRetriever.build(docs, encoder, options)`: the plugin's index keys, plus what only code passes. */
export const colbertIndexOptionsSchema = z.strictObject({
  dim: r.dim.unwrap().optional(),
  nbits: r.nbits.unwrap(),
  centroids: r.centroids,
  sampleTokens: r.sampleTokens.unwrap().optional(),
  threads: r.threads.unwrap().optional(),
  seed: r.seed.unwrap().optional(),
  batchSize: positiveInt.optional(),
  kmeansIterations: positiveInt.optional(),
  model: z.string(),
  ...runtimeOptionsShape,
});

/** `new ColbertReranker(encoder, options)`. */
export const colbertRerankerOptionsSchema = z.strictObject({
  dim: colbertRerankerPluginSchema.shape.dim,
  cacheSize: colbertRerankerPluginSchema.shape.cacheSize.unwrap().optional(),
  threads: colbertRerankerPluginSchema.shape.threads.unwrap().optional(),
  batchSize: positiveInt.optional(),
  tokenStrings: z.custom<TokenStrings>(() => true).optional(),
  store: z.custom<DocTokenStore>((v) => typeof v === 'object' && v !== null && typeof (v as DocTokenStore).write === 'function', 'store must be a DocTokenStore').optional(),
  explainTop: z.number().int().nonnegative().optional(),
});

/** `ColbertRetriever.fromIndex(index, encoder, options)`. */
export const colbertFromIndexOptionsSchema = z.strictObject({ model: z.string().optional(), threads: positiveInt.optional() });

/** `new MaxSimKernel(options)`. */
export const maxSimKernelOptionsSchema = z.strictObject({
  threads: positiveInt.optional(),
  blockFloats: positiveInt.optional(),
  jsThreshold: z.number().int().nonnegative().optional(),
});

/** `trainTokenModel(options)`. */
export const trainTokenModelOptionsSchema = z.strictObject({
  init: z.string(),
  contextual: z.strictObject({ hidden: positiveInt, kernel: positiveInt }).optional(),
  examples: z.array(z.unknown()),
  out: z.string().optional(),
  steps: positiveInt,
  batchSize: positiveInt.optional(),
  negatives: z.number().int().nonnegative().optional(),
  temperature: z.number().positive().optional(),
  lr: z.number().positive().optional(),
  lrDense: z.number().positive().optional(),
  warmup: z.number().nonnegative().optional(),
  dims: z.array(positiveInt).optional(),
  maxQueryLength: positiveInt.optional(),
  maxDocLength: positiveInt.optional(),
  freezeEmbeddings: z.boolean().optional(),
  seed: z.number().int().optional(),
  threads: positiveInt.optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  provenance: z.record(z.string(), z.unknown()).optional(),
  ...runtimeOptionsShape,
});
