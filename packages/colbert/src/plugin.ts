import { definePlugin, QuarryError, z } from '@quarry/core';
import { PlaidIndex } from './plaid-index.js';
import type { ResidualBits } from './residual-codec.js';
import { ColbertReranker } from './reranker.js';
import { ColbertRetriever } from './retriever.js';
import { checkTrainedDim, loadTokenEncoder } from './token-encoder.js';

const encoderOption = z.string().min(1).optional().describe('token encoder folder (an exported ColBERT model or a Quarry model); default: the bundled own model');
const dimOption = z.number().int().positive().optional().describe('Matryoshka token dimension (a prefix of the model output, re-normalised)');

const rerankSchema = z
  .object({
    encoder: encoderOption,
    dim: dimOption,
    cacheSize: z.number().int().positive().default(50_000).describe('documents whose token vectors stay cached'),
    threads: z.number().int().positive().default(2).describe('onnxruntime threads for the MaxSim kernel'),
  })
  .strict();

/** The `colbert` reranker: exact MaxSim over a token encoder's vectors for the pipeline's top candidates. */
export const colbertPlugin = definePlugin({
  kind: 'reranker',
  name: 'colbert',
  description: 'Late-interaction (exact MaxSim) reranking of any first stage with a token encoder folder; Matryoshka dim.',
  schema: rerankSchema,
  async create(options: z.output<typeof rerankSchema>) {
    const { encoder, label, trainedDims, tokenStrings } = await loadTokenEncoder(options.encoder);
    const dim = options.dim ?? encoder.dim;
    checkTrainedDim(dim, encoder.dim, trainedDims, label);
    return new ColbertReranker(encoder, { dim, cacheSize: options.cacheSize, threads: options.threads, tokenStrings });
  },
  pathOptions: ['encoder'],
  cliOptions: [
    { flag: 'encoder', option: 'encoder', type: 'string', description: 'token encoder folder' },
    { flag: 'dim', option: 'dim', type: 'number', description: 'Matryoshka token dimension' },
  ],
});

const retrieverSchema = z
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
    sampleTokens: z.number().int().positive().default(1 << 18).describe('token vectors held in memory to fit centroids'),
    nprobe: z.number().int().positive().optional().describe('centroids probed per query token (default by k, as PLAID)'),
    centroidScoreThreshold: z.number().optional().describe('pruning threshold of the first centroid interaction (default by k)'),
    ndocs: z.number().int().positive().optional().describe('candidates kept after pruned centroid interaction (default by k)'),
    threads: z.number().int().positive().default(2).describe('onnxruntime threads'),
    seed: z.number().int().default(12345),
  })
  .strict();

type RetrieverOptions = z.output<typeof retrieverSchema>;

function searchDefaults(options: RetrieverOptions): Record<string, number> {
  return Object.fromEntries(
    Object.entries({ nprobe: options.nprobe, centroidScoreThreshold: options.centroidScoreThreshold, ndocs: options.ndocs }).filter(([, v]) => v !== undefined),
  ) as Record<string, number>;
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
      throw new QuarryError('DIMENSION_MISMATCH', `The ColBERT index in ${dir} holds ${index.dim}-d tokens at ${index.meta.nbits} bits, but ${options.dim}-d at ${options.nbits} bits was asked for; rebuild it with these options.`);
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
