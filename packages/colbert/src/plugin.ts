import { definePlugin, QuarryError, type PluginContext, type z } from '@quarry/core';
import { colbertRerankerPluginSchema, colbertRetrieverPluginSchema } from './options.js';
import { PlaidIndex } from './plaid-index.js';
import type { ResidualBits } from './residual-codec.js';
import { ColbertReranker } from './reranker.js';
import { DocTokenStore } from './token-store.js';
import { ColbertRetriever } from './retriever.js';
import { checkTrainedDim, loadTokenEncoder } from './token-encoder.js';

const rerankSchema = colbertRerankerPluginSchema;

/** The `colbert` reranker: exact MaxSim over a token encoder's vectors for the pipeline's top candidates. */
export const colbertPlugin = definePlugin({
  kind: 'reranker',
  name: 'colbert',
  description: 'Late-interaction (exact MaxSim) reranking of any first stage with a token encoder folder; Matryoshka dim; document token vectors stored at index time (fp32 / fp16 / int8 / residual).',
  schema: rerankSchema,
  async create(options: z.output<typeof rerankSchema>, context) {
    const { encoder, label, trainedDims, tokenStrings } = await loadTokenEncoder(options.encoder);
    const dim = options.dim ?? encoder.dim;
    checkTrainedDim(dim, encoder.dim, trainedDims, label);
    const store =
      options.storage === 'none'
        ? undefined
        : await DocTokenStore.build(context.docs, encoder, {
            dim,
            precision: options.storage,
            model: label,
            threads: options.threads,
            ...(context.signal ? { signal: context.signal } : {}),
            ...(context.onProgress ? { onProgress: context.onProgress } : {}),
          });
    return new ColbertReranker(encoder, { dim, cacheSize: options.cacheSize, threads: options.threads, tokenStrings, ...(store ? { store } : {}) });
  },
  async load(dir: string, options: z.output<typeof rerankSchema>, _context: PluginContext) {
    const store = await DocTokenStore.load(dir);
    const { encoder, label, trainedDims, tokenStrings } = await loadTokenEncoder(options.encoder);
    const dim = options.dim ?? encoder.dim;
    checkTrainedDim(dim, encoder.dim, trainedDims, label);
    if (store.meta.model !== label || store.dim !== dim || store.precision !== options.storage) {
      throw new QuarryError(
        'DIMENSION_MISMATCH',
        `The stored ColBERT token vectors in ${dir} are ${store.dim}-d ${store.precision} from ${store.meta.model}, but ${dim}-d ${options.storage} from ${label} was asked for; rebuild the index with these options.`,
      );
    }
    return new ColbertReranker(encoder, { dim, cacheSize: options.cacheSize, threads: options.threads, tokenStrings, store });
  },
  pathOptions: ['encoder'],
  cliOptions: [
    { flag: 'encoder', option: 'encoder', type: 'string', description: 'token encoder folder' },
    { flag: 'dim', option: 'dim', type: 'number', description: 'Matryoshka token dimension' },
    { flag: 'storage', option: 'storage', type: 'string', description: 'stored document token vectors: fp32, fp16, int8, residual-4, residual-2 or none' },
  ],
});

const retrieverSchema = colbertRetrieverPluginSchema;

type RetrieverOptions = z.output<typeof retrieverSchema>;

function searchDefaults(options: RetrieverOptions): Record<string, number> {
  return Object.fromEntries(Object.entries({ nprobe: options.nprobe, centroidScoreThreshold: options.centroidScoreThreshold, ndocs: options.ndocs }).filter(([, v]) => v !== undefined)) as Record<
    string,
    number
  >;
}

/** The `colbert` retriever: full late-interaction retrieval over a PLAID-style compressed index. */
export const colbertRetrieverPlugin = definePlugin({
  kind: 'retriever',
  name: 'colbert',
  description: 'ColBERT full retrieval: token encoder + PLAID-style index (centroids, nbits residuals, pruned candidate generation, exact MaxSim).',
  schema: retrieverSchema,
  async create(options: RetrieverOptions, context) {
    const { encoder, label, trainedDims, tokenStrings } = await loadTokenEncoder(options.encoder);
    checkTrainedDim(options.dim, encoder.dim, trainedDims, label);
    const retriever = await ColbertRetriever.build(context.docs, encoder, {
      dim: options.dim,
      nbits: options.nbits as ResidualBits,
      sampleTokens: options.sampleTokens,
      threads: options.threads,
      seed: options.seed,
      model: label,
      ...(options.centroids !== undefined ? { centroids: options.centroids } : {}),
      ...(context.signal ? { signal: context.signal } : {}),
      ...(context.onProgress ? { onProgress: context.onProgress } : {}),
    });
    return retriever.withSearchDefaults(searchDefaults(options)).withExplanations(context.docs, tokenStrings);
  },
  async load(dir: string, options: RetrieverOptions, context) {
    const index = await PlaidIndex.load(dir);
    const { encoder, label, tokenStrings } = await loadTokenEncoder(options.encoder);
    if (index.dim !== options.dim || index.meta.nbits !== options.nbits) {
      throw new QuarryError(
        'DIMENSION_MISMATCH',
        `The ColBERT index in ${dir} holds ${index.dim}-d tokens at ${index.meta.nbits} bits, but ${options.dim}-d at ${options.nbits} bits was asked for; rebuild it with these options.`,
      );
    }
    return ColbertRetriever.fromIndex(index, encoder, { model: label, threads: options.threads }).withSearchDefaults(searchDefaults(options)).withExplanations(context.docs, tokenStrings);
  },
  pathOptions: ['encoder'],
  cliOptions: [
    { flag: 'encoder', option: 'encoder', type: 'string', description: 'token encoder folder' },
    { flag: 'dim', option: 'dim', type: 'number', description: 'Matryoshka token dimension' },
    { flag: 'nbits', option: 'nbits', type: 'number', description: 'ColBERT residual bits per dimension (1, 2 or 4)' },
  ],
});
