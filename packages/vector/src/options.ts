import { runtimeOptionsShape, z } from '@quarry/core';

// Strict schemas of the public constructors' options: a misspelled key (`{ efconstruction: 400 }`)
// is a ConfigError naming the closest valid key instead of being silently ignored. Values are
// checked first by the constructors themselves (their InputErrors explain the ranges).
const metric = z.enum(['ip', 'cosine']);
const positiveInt = z.number().int().positive();

/** `new FlatIndex(options)`. */
export const flatIndexOptionsSchema = z.strictObject({
  dim: positiveInt,
  metric: metric.optional(),
  capacity: z.number().int().nonnegative().optional(),
});

/** `new HnswIndex(options)`; the `dense` plugin's M, efConstruction and ef mean the same. */
export const hnswIndexOptionsSchema = z.strictObject({
  dim: positiveInt,
  metric: metric.optional(),
  M: z.number().int().min(2).max(10_000).optional(),
  efConstruction: positiveInt.optional(),
  ef: positiveInt.optional(),
  seed: z.number().int().nonnegative().optional(),
  capacity: positiveInt.optional(),
});

/** `new DenseRetriever(encoder, index, options)` and `DenseRetriever.load`. */
export const denseRetrieverOptionsSchema = z.strictObject({
  name: z.string().optional(),
  batchSize: positiveInt.optional(),
});

/** `retriever.addDocs(docs, options)`. */
export const indexDocsOptionsSchema = z.strictObject({
  batchSize: positiveInt.optional(),
  ...runtimeOptionsShape,
});

/** `DenseRetriever.fromDocs(docs, encoder, index, options)`. */
export const denseFromDocsOptionsSchema = z.strictObject({ ...denseRetrieverOptionsSchema.shape, ...indexDocsOptionsSchema.shape });
