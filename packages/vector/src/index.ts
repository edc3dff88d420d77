export type { Metric, VectorIndex, VectorInput, VectorSearchOptions } from './types.js';
export { FlatIndex, type FlatIndexOptions } from './flat-index.js';
export { HnswIndex, type HnswIndexOptions } from './hnsw-index.js';
export { loadVectorIndex } from './load.js';
export { DenseRetriever, type DenseRetrieverOptions, type IndexDocsOptions } from './dense-retriever.js';
export { flatIndexOptionsSchema, hnswIndexOptionsSchema, denseRetrieverOptionsSchema, indexDocsOptionsSchema, denseFromDocsOptionsSchema } from './options.js';
