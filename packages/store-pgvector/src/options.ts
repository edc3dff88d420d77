import { runtimeOptionsShape, z } from '@quarry/core';

// Strict schemas of the retrievers' public options (PgVectorStore.open has storeOptionsSchema):
// a misspelled key is a ConfigError naming the closest valid one instead of being ignored.

const positiveInt = z.number().int().positive();

/** `new PgDenseRetriever(encoder, store, options)`; efSearch is the dense-pg plugin's `ef`. */
export const pgDenseRetrieverOptionsSchema = z.strictObject({
  name: z.string().optional(),
  batchSize: positiveInt.optional(),
  efSearch: positiveInt.optional(),
  exact: z.boolean().optional(),
});

/** `new PgColbertRetriever(encoder, store, options)`. */
export const pgColbertRetrieverOptionsSchema = z.strictObject({
  name: z.string().optional(),
  dim: positiveInt.optional(),
  candidatesPerToken: positiveInt.optional(),
  efSearch: positiveInt.optional(),
  exact: z.boolean().optional(),
  batchSize: positiveInt.optional(),
});

/** `retriever.addDocs(docs, options)`. */
export const pgAddDocsOptionsSchema = z.strictObject({ batchSize: positiveInt.optional(), ...runtimeOptionsShape });

/** `retriever.sync(docs, options)`. */
export const pgSyncOptionsSchema = z.strictObject({ ...pgAddDocsOptionsSchema.shape, collection: z.string().optional(), replace: z.boolean().optional() });
