import {
  DimensionMismatchError,
  DuplicateIdError,
  IndexCorruptError,
  InputError,
  checkOptions,
  docText,
  isBlankDoc,
  openIndexDir,
  safeJoin,
  saveIndexDir,
  throwIfAborted,
  type Doc,
  type DocScorer,
  type Encoder,
  type Hit,
  type Matrix,
  type Persistable,
  type ProgressCallback,
  type Query,
  type Retriever,
  type SearchOptions,
} from '@quarry/core';
import { join } from 'node:path';
import { dot } from './kernels.js';
import { loadVectorIndex } from './load.js';
import { denseFromDocsOptionsSchema, denseRetrieverOptionsSchema, indexDocsOptionsSchema } from './options.js';
import type { VectorIndex } from './types.js';
import { checkFilter, checkK, checkPositiveInt } from './validate.js';

const DENSE_FORMAT = 'quarry-dense';
const DENSE_VERSION = 1;

export interface DenseRetrieverOptions {
  /** Name reported by the retriever (default `'dense'`). */
  name?: string;
  /** Texts per encoder call, for documents and for queries (default 64). */
  batchSize?: number;
}

export interface IndexDocsOptions {
  /** Texts per encoder call (default: the retriever's `batchSize`). */
  batchSize?: number;
  /** Checked before every batch; the encoder receives it too. */
  signal?: AbortSignal;
  /** Called with `{ phase: 'encode', done: 0, total }` before the first batch, then after every batch with `{ phase: 'encode', done, total }` (`total` when the input has a length or size). */
  onProgress?: ProgressCallback;
}

/**
 * A `Retriever` over any `Encoder` and any `VectorIndex`: documents are encoded
 * with role `'document'` (title and text joined by core's `docText`), queries with
 * role `'query'`, and the index ranks by inner product or cosine.
 */
export class DenseRetriever implements Retriever, Persistable, DocScorer {
  readonly name: string;
  readonly batchSize: number;
  /**
   * Documents with nothing to match (core's `isBlankDoc`, or an all-zero vector: no known
   * token): indexed by id only, never returned. A zero vector has no direction under cosine.
   */
  readonly #empty = new Set<string>();

  constructor(
    readonly encoder: Encoder,
    readonly index: VectorIndex,
    options: DenseRetrieverOptions = {},
  ) {
    if (encoder.dim !== index.dim) throw new DimensionMismatchError(index.dim, encoder.dim, 'encoder (index dimension vs encoder dimension)');
    this.name = options.name ?? 'dense';
    this.batchSize = checkPositiveInt(options.batchSize ?? 64, 'batchSize');
    checkOptions(denseRetrieverOptionsSchema, options, 'DenseRetriever options');
  }

  /** Encodes `docs` into `index` (which may already hold vectors) and returns the retriever. */
  static async fromDocs(docs: Iterable<Doc> | AsyncIterable<Doc>, encoder: Encoder, index: VectorIndex, options: DenseRetrieverOptions & IndexDocsOptions = {}): Promise<DenseRetriever> {
    checkOptions(denseFromDocsOptionsSchema, options, 'DenseRetriever.fromDocs options');
    const { signal, onProgress, ...retrieverOptions } = options;
    const retriever = new DenseRetriever(encoder, index, retrieverOptions);
    await retriever.addDocs(docs, { batchSize: retriever.batchSize, signal, onProgress });
    return retriever;
  }

  /** Indexed documents, empty ones included. */
  get size(): number {
    return this.index.size + this.#empty.size;
  }

  /** Whether a document is indexed (empty documents are, though no search returns them). */
  has(id: string): boolean {
    return this.index.has(id) || this.#empty.has(id);
  }

  /**
   * Encodes and adds documents in batches, streaming the input. Batches already
   * added stay added if a later one fails or the signal fires, so a caller can
   * resume by skipping ids the retriever `has` (empty documents included). Returns the number of documents added.
   */
  async addDocs(docs: Iterable<Doc> | AsyncIterable<Doc>, options: IndexDocsOptions = {}): Promise<number> {
    const batchSize = checkPositiveInt(options.batchSize ?? this.batchSize, 'batchSize');
    checkOptions(indexDocsOptionsSchema, options, 'DenseRetriever.addDocs options');
    const { signal, onProgress } = options;
    const total = lengthOf(docs);
    let done = 0;
    let batch: Doc[] = [];
    // The phase's start, before the first batch: a cold encoder can take seconds on it, and a piped CLI would say nothing meanwhile.
    onProgress?.({ phase: 'encode', done: 0, total });
    const flush = async (): Promise<void> => {
      throwIfAborted(signal, 'dense indexing');
      const ids = batch.map((d) => d.id);
      // Fail before spending encoder time on a batch the index would reject.
      for (const id of ids) if (this.has(id)) throw new DuplicateIdError(id, 'dense index');
      const seen = new Set<string>();
      for (const id of ids) {
        if (seen.has(id)) throw new DuplicateIdError(id, 'dense index');
        seen.add(id);
      }
      const vectors = await this.#encode(batch.map(docText), 'document', signal);
      throwIfAborted(signal, 'dense indexing');
      const blank = batch.map((d, r) => isBlankDoc(d) || isZeroRow(vectors, r));
      if (blank.includes(true)) {
        const keep = ids.flatMap((_, r) => (blank[r] ? [] : [r]));
        this.index.add(
          keep.map((r) => ids[r]!),
          selectRows(vectors, keep),
        );
        ids.forEach((id, r) => blank[r] && this.#empty.add(id));
      } else {
        this.index.add(ids, vectors);
      }
      done += batch.length;
      batch = [];
      onProgress?.({ phase: 'encode', done, total });
    };
    for await (const doc of docs) {
      if (typeof doc?.id !== 'string' || typeof doc.text !== 'string') throw new InputError('Each document needs a string id and a string text.', { index: done + batch.length });
      batch.push(doc);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
    return done;
  }

  /** Removes a document's vector; false when the id is not indexed. */
  delete(id: string): boolean {
    return this.#empty.delete(id) || this.index.delete(id);
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    // Validate before encoding so a bad k costs nothing.
    const k = checkK(options);
    const filter = checkFilter(options);
    const { signal } = options;
    const texts = queries.map((q) => (typeof q === 'string' ? q : q.text));
    const results: Hit[][] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      throwIfAborted(signal, 'search');
      const vectors = await this.#encode(texts.slice(start, start + this.batchSize), 'query', signal);
      // A query with no known token encodes to zeros: it matches nothing, so it gets no hits.
      const live = Array.from({ length: vectors.rows }, (_, r) => r).filter((r) => !isZeroRow(vectors, r));
      if (live.length === vectors.rows) {
        results.push(...this.index.searchBatch(vectors, { k, filter }));
      } else {
        const found = live.length > 0 ? this.index.searchBatch(selectRows(vectors, live), { k, filter }) : [];
        const byRow = new Map(live.map((r, i) => [r, found[i]!]));
        for (let r = 0; r < vectors.rows; r++) results.push(byRow.get(r) ?? []);
      }
    }
    return results;
  }

  /**
   * Scores given documents for a query on the same scale as `search` (inner product, or
   * cosine with the query normalised as the index does). Unknown ids score NaN. Hard-negative
   * mining uses this for positives outside the teacher's top k.
   */
  async scoreDocs(query: Query | string, ids: readonly string[]): Promise<Float64Array> {
    const text = typeof query === 'string' ? query : query.text;
    const q = (await this.#encode([text], 'query', undefined)).data;
    if (this.index.metric === 'cosine') {
      const norm = Math.sqrt(dot(q, 0, q, 0, q.length));
      if (norm > 0) for (let i = 0; i < q.length; i++) q[i]! /= norm;
    }
    return Float64Array.from(ids, (id) => {
      if (this.#empty.has(id)) return 0;
      const v = this.index.getVector(id);
      return v ? dot(q, 0, v, 0, v.length) : Number.NaN;
    });
  }

  /** Saves the index (in `dir/index`) with the retriever's settings; the encoder is not saved. */
  async save(dir: string): Promise<void> {
    const meta = { name: this.name, batchSize: this.batchSize, dim: this.index.dim, index: this.index.kind, empty: [...this.#empty] };
    await saveIndexDir(dir, { format: DENSE_FORMAT, version: DENSE_VERSION, meta }, async (tmp) => {
      await this.index.save(join(tmp, 'index'));
    });
  }

  /** Restores a retriever written by `save`, given the same encoder it was built with. */
  static async load(dir: string, encoder: Encoder, options: DenseRetrieverOptions = {}): Promise<DenseRetriever> {
    const manifest = await openIndexDir(dir, DENSE_FORMAT, [DENSE_VERSION]);
    const meta = manifest.meta ?? {};
    const index = await loadVectorIndex(safeJoin(dir, 'index'));
    if (meta['dim'] !== index.dim) throw new IndexCorruptError(`manifest dim ${String(meta['dim'])} differs from the index's ${index.dim}`, dir);
    const saved: DenseRetrieverOptions = {};
    if (typeof meta['name'] === 'string') saved.name = meta['name'];
    if (typeof meta['batchSize'] === 'number') saved.batchSize = meta['batchSize'];
    const retriever = new DenseRetriever(encoder, index, { ...saved, ...options });
    const empty = meta['empty'] ?? [];
    if (!Array.isArray(empty) || !empty.every((id) => typeof id === 'string')) throw new IndexCorruptError('manifest "empty" is not a list of document ids', dir);
    for (const id of empty as string[]) retriever.#empty.add(id);
    return retriever;
  }

  async #encode(texts: string[], role: 'query' | 'document', signal: AbortSignal | undefined): Promise<Matrix> {
    const m = await this.encoder.encode(texts, signal ? { role, signal } : { role });
    if (!m || !(m.data instanceof Float32Array) || m.rows !== texts.length) {
      throw new InputError(`The encoder returned ${m?.rows ?? 'no'} rows for ${texts.length} texts; an Encoder must return one row per text.`);
    }
    if (m.cols !== this.index.dim) throw new DimensionMismatchError(this.index.dim, m.cols, 'encoder output');
    return m;
  }
}

function isZeroRow(m: Matrix, r: number): boolean {
  const { cols, data } = m;
  for (let j = r * cols; j < (r + 1) * cols; j++) if (data[j] !== 0) return false;
  return true;
}

function selectRows(m: Matrix, rows: readonly number[]): Matrix {
  const data = new Float32Array(rows.length * m.cols);
  rows.forEach((r, i) => data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return { rows: rows.length, cols: m.cols, data };
}

function lengthOf(docs: Iterable<Doc> | AsyncIterable<Doc>): number | undefined {
  if (Array.isArray(docs)) return docs.length;
  const size = (docs as { size?: unknown }).size;
  return typeof size === 'number' ? size : undefined;
}
