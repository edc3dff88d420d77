import { runtimeOptionsShape, z } from '@quarry/core';

// The `bool` plugin's schema lives here so that the classes it builds check their options
// with the same definitions; every public entry point is strict (a misspelled key names the
// closest valid one instead of being ignored).

/** The `bool` retriever plugin's options. */
export const boolPluginSchema = z
  .object({
    model: z.string().min(1).optional().describe('Boolean module folder (default: the bundled scifact-bool)'),
    encoder: z.string().min(1).optional().describe('base encoder folder (default: the bundled model the modules were trained on)'),
    boolean: z.boolean().default(true).describe('apply the Boolean modules to queries; false = the same encoder without them (the baseline)'),
    batchSize: z.number().int().positive().default(1024).describe('documents per encoder call'),
  })
  .strict();

const positiveInt = z.number().int().positive();

/** `BoolRetriever.fromDocs(docs, encoder, options)`. */
export const boolFromDocsOptionsSchema = z.strictObject({
  name: z.string().optional(),
  batchSize: boolPluginSchema.shape.batchSize.unwrap().optional(),
  total: z.number().int().nonnegative().optional(),
  ...runtimeOptionsShape,
});

/** `BoolRetriever.load(dir, encoder, options)`. */
export const boolLoadOptionsSchema = z.strictObject({ name: z.string().optional() });

/** `loadBoolEncoder(dir, options)`. */
export const loadBoolEncoderOptionsSchema = z.strictObject({
  encoder: boolPluginSchema.shape.encoder,
  allowOtherBase: z.boolean().optional(),
  prune: z.number().nonnegative().optional(),
});

/** `trainBoolModules(options)`. */
export const trainBoolOptionsSchema = z.strictObject({
  benchmark: z.string(),
  out: z.string(),
  base: z.string().optional(),
  hidden: positiveInt.optional(),
  temperature: z.number().positive().optional(),
  retrievalTemperature: z.number().positive().optional(),
  epochs: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).optional(),
  batchSize: positiveInt.optional(),
  lr: z.number().positive().optional(),
  auxWeight: z.number().nonnegative().optional(),
  candidates: positiveInt.optional(),
  devPercent: z.number().nonnegative().optional(),
  maxQueryLength: positiveInt.optional(),
  limitQueries: positiveInt.optional(),
  phrasingsPerPair: z.strictObject({ and: positiveInt.optional(), or: positiveInt.optional(), not: positiveInt.optional() }).optional(),
  augmentProbability: z.number().min(0).max(1).optional(),
  lexicon: z.boolean().optional(),
  cueRowDropout: z.number().min(0).max(1).optional(),
  seed: z.number().int().optional(),
  signal: runtimeOptionsShape.signal,
  onProgress: z.custom<(event: unknown) => void>((v) => v === undefined || typeof v === 'function', 'must be a function').optional(),
});

/** `buildBooleanBenchmark(options)`. */
export const buildBenchmarkOptionsSchema = z.strictObject({
  dataset: z.string(),
  out: z.string(),
  depth: positiveInt.optional(),
  seed: z.number().int().optional(),
  corpus: z.enum(['link', 'copy']).optional(),
  ...runtimeOptionsShape,
});
