import {
  checkOptions,
  docText,
  InputError,
  isBlankDoc,
  QuarryError,
  throwIfAborted,
  type Doc,
  type DocStore,
  type Hit,
  type ProgressCallback,
  type Query,
  type RaggedMatrix,
  type Retriever,
  type SearchOptions,
  type TokenEncoder,
} from '@quarry/core';
import { tokenMatches, type TokenStrings } from './explain.js';
import { Gemm } from './gemm.js';
import { colbertCentroidCount } from './kmeans.js';
import { checkMatryoshkaDim, truncateTokens } from './matryoshka.js';
import { MaxSimKernel } from './maxsim-kernel.js';
import { colbertFromIndexOptionsSchema, colbertIndexOptionsSchema } from './options.js';
import { PlaidIndex, type PlaidSearchOptions } from './plaid-index.js';
import { checkNbits, type ResidualBits } from './residual-codec.js';

export interface ColbertIndexOptions {
  /** Matryoshka token dimension (a prefix of the encoder's, re-normalised); default: the encoder's. */
  dim?: number;
  /** Bits per dimension of each compressed residual: 1, 2 or 4. */
  nbits: ResidualBits;
  /** Centroid count; default ColBERTv2's rule from the estimated token count. */
  centroids?: number;
  /** At most this many token vectors are held in memory to train centroids (default 2^18). */
  sampleTokens?: number;
  /** Documents per encoder call while indexing (default 64). */
  batchSize?: number;
  kmeansIterations?: number;
  seed?: number;
  /** onnxruntime threads for the GEMM and MaxSim kernels. */
  threads?: number;
  /** Label of the token encoder, recorded in the index so a mismatched query encoder is caught. */
  model: string;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export type ColbertSearchOptions = SearchOptions & Omit<PlaidSearchOptions, 'filter' | 'k' | 'signal'>;

/**
 * ColBERT full retrieval: a token encoder in front of a PLAID-style compressed index.
 * Building streams the documents twice (a bounded sample to fit centroids, then every
 * document encoded and compressed batch by batch), so float token vectors of the whole
 * collection are never held at once.
 */
export class ColbertRetriever implements Retriever {
  readonly name = 'colbert';
  readonly #gemm: Gemm;
  readonly #kernel: MaxSimKernel;
  #defaults: Omit<PlaidSearchOptions, 'filter' | 'k' | 'signal'> = {};
  #explain: { docs: DocStore; tokenStrings: TokenStrings; top: number } | undefined;

  private constructor(
    readonly encoder: TokenEncoder,
    readonly index: PlaidIndex,
    threads: number | undefined,
  ) {
    const t = threads ?? 2;
    this.#gemm = new Gemm(t);
    this.#kernel = new MaxSimKernel({ threads: t });
  }

  get dim(): number {
    return this.index.dim;
  }

  static async build(docs: DocStore | Iterable<Doc>, encoder: TokenEncoder, options: ColbertIndexOptions): Promise<ColbertRetriever> {
    checkOptions(colbertIndexOptionsSchema, options, 'ColbertRetriever.build options');
    checkNbits(options.nbits);
    const dim = options.dim ?? encoder.dim;
    checkMatryoshkaDim(dim, encoder.dim);
    const all = [...docs];
    if (all.length === 0) throw new InputError('ColBERT index: no documents to index.');
    const batchSize = options.batchSize ?? 64;
    const gemm = new Gemm(options.threads ?? 2);
    // A document with nothing to match (core's isBlankDoc) is indexed with no token vectors:
    // it has no postings, so no search can return it, and it stays out of the k-means sample.
    const encode = (batch: readonly Doc[]): Promise<RaggedMatrix> => encodeDocumentTokens(encoder, batch, dim, options.signal);

    // Pass 1: a spread-out sample of documents (every n-th) up to the token budget.
    const budget = options.sampleTokens ?? 1 << 18;
    const sampleParts: Float32Array[] = [];
    let sampled = 0;
    let sampledDocs = 0;
    const stride = Math.max(1, Math.floor(all.length / Math.max(1, Math.ceil(budget / 64))));
    for (let start = 0; start < all.length && sampled < budget; start += batchSize * stride) {
      throwIfAborted(options.signal, 'ColBERT indexing');
      const batch: Doc[] = [];
      for (let i = start; i < Math.min(all.length, start + batchSize * stride); i += stride) batch.push(all[i]!);
      const m = await encode(batch);
      const take = Math.min(m.data.length / dim, budget - sampled);
      sampleParts.push(m.data.subarray(0, take * dim));
      sampled += take;
      sampledDocs += batch.length;
      options.onProgress?.({ phase: 'sampling', done: sampled, total: budget });
    }
    const sample = new Float32Array(sampled * dim);
    let at = 0;
    for (const p of sampleParts) {
      sample.set(p, at);
      at += p.length;
    }
    const expectedTokens = Math.round((sampled / Math.max(1, sampledDocs)) * all.length);
    options.onProgress?.({ phase: 'k-means', done: 0, total: options.centroids ?? colbertCentroidCount(expectedTokens) });
    const index = await PlaidIndex.train({ dim, offsets: Int32Array.of(0, sampled), data: sample }, options.model, gemm, {
      nbits: options.nbits,
      expectedTokens,
      ...(options.centroids !== undefined ? { centroids: options.centroids } : {}),
      ...(options.kmeansIterations !== undefined ? { iterations: options.kmeansIterations } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    sampleParts.length = 0;

    // Pass 2: encode and compress every document.
    for (let start = 0; start < all.length; start += batchSize) {
      throwIfAborted(options.signal, 'ColBERT indexing');
      const batch = all.slice(start, start + batchSize);
      await index.add(
        batch.map((d) => d.id),
        await encode(batch),
        gemm,
      );
      options.onProgress?.({ phase: 'indexing', done: Math.min(all.length, start + batchSize), total: all.length });
    }
    await gemm.release();
    return new ColbertRetriever(encoder, index, options.threads);
  }

  /** Wraps a loaded index; the encoder must produce the index's token dimension (or more). */
  static fromIndex(index: PlaidIndex, encoder: TokenEncoder, options: { model?: string; threads?: number } = {}): ColbertRetriever {
    checkOptions(colbertFromIndexOptionsSchema, options, 'ColbertRetriever.fromIndex options');
    if (encoder.dim < index.dim)
      throw new QuarryError('DIMENSION_MISMATCH', `The ColBERT index holds ${index.dim}-d token vectors but the query encoder gives ${encoder.dim}-d; use the encoder the index was built with.`);
    if (options.model !== undefined && options.model !== index.meta.model) {
      throw new QuarryError(
        'MODEL_MISMATCH',
        `The ColBERT index was built with token encoder "${index.meta.model}" but the query encoder is "${options.model}"; rebuild the index or pass the same encoder.`,
        {
          index: index.meta.model,
          encoder: options.model,
        },
      );
    }
    return new ColbertRetriever(encoder, index, options.threads);
  }

  /** PLAID knobs (nprobe, centroidScoreThreshold, ndocs) used when a search does not set them. */
  withSearchDefaults(defaults: Omit<PlaidSearchOptions, 'filter' | 'k' | 'signal'>): this {
    this.#defaults = { ...defaults };
    return this;
  }

  /** Attach token matches (`explain.matches`) to the best `top` hits, reading document text from `docs`. */
  withExplanations(docs: DocStore, tokenStrings: TokenStrings, top = 10): this {
    this.#explain = { docs, tokenStrings, top };
    return this;
  }

  async #encodeQueries(texts: readonly string[], signal?: AbortSignal): Promise<RaggedMatrix> {
    return truncateTokens(await this.encoder.encodeTokens(texts, { role: 'query', signal }), this.index.dim);
  }

  async search(query: Query | string, options: ColbertSearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: ColbertSearchOptions = {}): Promise<Hit[][]> {
    const texts = queries.map((q) => (typeof q === 'string' ? q : q.text));
    const q = await this.#encodeQueries(texts, options.signal);
    const filter = options.filter;
    const out: Hit[][] = [];
    for (let i = 0; i < texts.length; i++) {
      const data = q.data.subarray(q.offsets[i]! * q.dim, q.offsets[i + 1]! * q.dim);
      const hits = await this.index.search(data, this.#gemm, this.#kernel, {
        ...this.#defaults,
        ...options,
        filter: filter ? (slot) => filter(this.index.idOf(slot)) : undefined,
      });
      const result: Hit[] = hits.map((h) => ({ id: this.index.idOf(h.slot), score: h.score }));
      const explain = this.#explain;
      if (explain && explain.top > 0 && hits.length > 0) {
        const shown = hits.slice(0, explain.top);
        const tokens = this.index.decompress(Int32Array.from(shown, (h) => h.slot));
        const queryM: RaggedMatrix = { dim: q.dim, offsets: Int32Array.of(0, q.offsets[i + 1]! - q.offsets[i]!), data };
        const queryTokens = explain.tokenStrings(texts[i]!, 'query');
        shown.forEach((_, j) => {
          const doc = explain.docs.get(result[j]!.id);
          result[j]!.explain = { matches: tokenMatches(queryM, 0, tokens, j, queryTokens, doc ? explain.tokenStrings(docText(doc), 'document') : undefined) };
        });
      }
      out.push(result);
    }
    return out;
  }

  async save(dir: string): Promise<void> {
    await this.index.save(dir);
  }

  async release(): Promise<void> {
    await this.#gemm.release();
    await this.#kernel.release();
  }
}

/**
 * Token vectors of `batch` truncated to `dim`, one item per document: a blank document
 * (core's isBlankDoc) is not encoded and holds no tokens. Shared by the PLAID index and the
 * reranker's token store.
 */
export async function encodeDocumentTokens(encoder: TokenEncoder, batch: readonly Doc[], dim: number, signal?: AbortSignal): Promise<RaggedMatrix> {
  const blank = batch.map((d) => isBlankDoc(d));
  const kept = batch.filter((_, i) => !blank[i]);
  const m =
    kept.length > 0
      ? truncateTokens(
          await encoder.encodeTokens(
            kept.map((d) => docText(d)),
            { role: 'document', signal },
          ),
          dim,
        )
      : { dim, offsets: new Int32Array(1), data: new Float32Array(0) };
  return kept.length === batch.length ? m : withEmptyItems(m, blank);
}

/** `m` (one item per non-blank doc) widened to one item per doc, blank docs holding no tokens. */
function withEmptyItems(m: RaggedMatrix, blank: readonly boolean[]): RaggedMatrix {
  const offsets = new Int32Array(blank.length + 1);
  let item = 0;
  blank.forEach((b, i) => {
    offsets[i + 1] = b ? offsets[i]! : m.offsets[++item]!;
  });
  return { dim: m.dim, offsets, data: m.data };
}
