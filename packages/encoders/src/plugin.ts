import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, definePlugin, throwIfAborted, z, type EncodeOptions, type Encoder, type Matrix } from '@quarry/core';
import { DenseRetriever, FlatIndex, HnswIndex, type VectorIndex } from '@quarry/vector';
import { loadEncoder } from './own-model.js';

/** The model `dense` uses when no `encoder` is given. */
export const DEFAULT_MODEL = 'scifact-static';

/** Folder of a model shipped with this package (models/<name>). */
export function bundledModelDir(name = DEFAULT_MODEL): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', 'models', name), join(here, '..', '..', 'models', name)]) {
    if (existsSync(join(candidate, 'model.onnx'))) return candidate;
  }
  throw new InputError(`The bundled model "${name}" was not found under models/; pass an encoder folder.`);
}

/**
 * An encoder that always encodes at a Matryoshka prefix `dim` (first `dim` components,
 * re-normalised); for indexes and retrievers that call `encode` without a dim.
 */
export class MatryoshkaEncoder implements Encoder {
  constructor(
    readonly inner: Encoder,
    readonly dim: number,
  ) {
    if (!Number.isInteger(dim) || dim < 1 || dim > inner.dim) throw new InputError(`Matryoshka dim must be an integer in 1..${inner.dim}, got ${dim}.`);
  }

  encode(texts: readonly string[], options: EncodeOptions): Promise<Matrix> {
    return this.inner.encode(texts, { ...options, dim: options.dim ?? this.dim });
  }
}

const schema = z
  .object({
    encoder: z.string().min(1).optional().describe('model folder (ONNX export, model2vec, or Quarry model); default: the bundled scifact-static model'),
    index: z.enum(['flat', 'hnsw']).default('flat').describe("'flat': exact search; 'hnsw': approximate (hnswlib)"),
    dim: z.number().int().positive().optional().describe('Matryoshka prefix dimension (default: the model dimension)'),
    batchSize: z.number().int().positive().default(1024).describe('texts per encoder call'),
    threads: z.number().int().positive().optional().describe('encoding threads (default: the cores, at most 4)'),
    M: z.number().int().min(2).default(16).describe('HNSW graph degree'),
    efConstruction: z.number().int().positive().default(200).describe('HNSW build-time candidate list'),
    ef: z.number().int().positive().default(64).describe('HNSW search-time candidate list'),
  })
  .strict();

export type DensePluginOptions = z.output<typeof schema>;

async function encoderFor(options: DensePluginOptions): Promise<Encoder> {
  const encoder = await loadEncoder(options.encoder ?? bundledModelDir(), { threads: options.threads ?? Math.min(4, availableParallelism()) });
  return options.dim === undefined || options.dim === encoder.dim ? encoder : new MatryoshkaEncoder(encoder, options.dim);
}

function indexFor(options: DensePluginOptions, dim: number): VectorIndex {
  return options.index === 'hnsw' ? new HnswIndex({ dim, metric: 'cosine', M: options.M, efConstruction: options.efConstruction, ef: options.ef }) : new FlatIndex({ dim, metric: 'cosine' });
}

/**
 * The `dense` retriever plugin: encodes the pipeline's documents (title + text) with an
 * encoder folder — by default Quarry's own model trained on SciFact — into an exact
 * (flat) or HNSW index of @quarry/vector, and answers queries by cosine similarity.
 */
export const densePlugin = definePlugin({
  kind: 'retriever',
  name: 'dense',
  description: "Dense retrieval with an encoder folder (default: Quarry's own static model) over a flat or HNSW index; Matryoshka dim.",
  schema,
  async create(options: DensePluginOptions, context) {
    throwIfAborted(context.signal, 'dense indexing');
    // Loading the model takes seconds: say so, so that a piped CLI is not silent until the first batch.
    context.onProgress?.({ phase: 'load model', done: 0, total: 1 });
    const encoder = await encoderFor(options);
    context.onProgress?.({ phase: 'load model', done: 1, total: 1 });
    return DenseRetriever.fromDocs(context.docs, encoder, indexFor(options, encoder.dim), {
      name: 'dense',
      batchSize: options.batchSize,
      ...(context.signal ? { signal: context.signal } : {}),
      ...(context.onProgress ? { onProgress: context.onProgress } : {}),
    });
  },
  async load(dir: string, options: DensePluginOptions) {
    const encoder = await encoderFor(options);
    const retriever = await DenseRetriever.load(dir, encoder, { name: 'dense', batchSize: options.batchSize });
    if (retriever.index.dim !== encoder.dim) {
      throw new InputError(`The dense index in ${dir} holds ${retriever.index.dim}-d vectors but the encoder gives ${encoder.dim}-d; use the same encoder and dim, or rebuild.`);
    }
    return retriever;
  },
  pathOptions: ['encoder'],
  cliOptions: [
    { flag: 'encoder', option: 'encoder', type: 'string', description: 'encoder model folder (default: bundled scifact-static)' },
    { flag: 'dim', option: 'dim', type: 'number', description: 'Matryoshka prefix dimension' },
    { flag: 'dense-index', option: 'index', type: 'string', description: "dense index: 'flat' (exact) or 'hnsw'" },
  ],
});
