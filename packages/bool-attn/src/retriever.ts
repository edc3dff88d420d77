import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DimensionMismatchError,
  InputError,
  TopK,
  bytesOf,
  checkOptions,
  docText,
  isBlankDoc,
  openIndexDir,
  readTyped,
  saveIndexDir,
  throwIfAborted,
  type Doc,
  type Hit,
  type Persistable,
  type ProgressCallback,
  type Query,
  type Retriever,
  type SearchOptions,
} from '@quarry/core';
import type { Encoder } from '@quarry/core';
import { boolFromDocsOptionsSchema, boolLoadOptionsSchema } from './options.js';

const FORMAT = 'quarry-bool-docs';
const VERSION = 1;

/**
 * Exact cosine search over documents encoded by the plain encoder, with queries encoded by
 * any `Encoder` (the Boolean-aware one, or the plain one for the baseline). Documents are
 * held as one row-major Float32Array.
 */
export class BoolRetriever implements Retriever, Persistable {
  readonly name: string;
  /** Rows whose vector is all zeros: documents with nothing to match, which no search returns. */
  readonly #zero: Uint8Array;

  constructor(
    readonly queryEncoder: Encoder,
    readonly ids: readonly string[],
    readonly vectors: Float32Array,
    options: { name?: string } = {},
  ) {
    this.name = options.name ?? 'bool';
    if (vectors.length !== ids.length * queryEncoder.dim) throw new DimensionMismatchError(ids.length * queryEncoder.dim, vectors.length, 'document matrix (docs x dim)');
    this.#zero = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) this.#zero[i] = isZero(vectors, i * queryEncoder.dim, queryEncoder.dim) ? 1 : 0;
  }

  /** Encodes documents with the encoder's `document` role (the plain encoder), in batches. */
  static async fromDocs(
    docs: Iterable<Doc>,
    encoder: Encoder,
    options: { name?: string; batchSize?: number; signal?: AbortSignal; onProgress?: ProgressCallback; total?: number } = {},
  ): Promise<BoolRetriever> {
    checkOptions(boolFromDocsOptionsSchema, options, 'BoolRetriever.fromDocs options');
    const batchSize = options.batchSize ?? 1024;
    const ids: string[] = [];
    const parts: Float32Array[] = [];
    let batch: Doc[] = [];
    const flush = async (): Promise<void> => {
      if (!batch.length) return;
      throwIfAborted(options.signal, 'document encoding');
      const m = await encoder.encode(
        batch.map((d) => docText(d)),
        { role: 'document', ...(options.signal ? { signal: options.signal } : {}) },
      );
      // A document with nothing to match (core's isBlankDoc) is stored as a zero vector, which no search returns.
      batch.forEach((d, r) => isBlankDoc(d) && m.data.fill(0, r * encoder.dim, (r + 1) * encoder.dim));
      parts.push(m.data.subarray(0, batch.length * encoder.dim));
      for (const d of batch) ids.push(d.id);
      batch = [];
      options.onProgress?.({ phase: 'encode', done: ids.length, ...(options.total !== undefined ? { total: options.total } : {}) });
    };
    for (const d of docs) {
      batch.push(d);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    const vectors = new Float32Array(ids.length * encoder.dim);
    let off = 0;
    for (const p of parts) {
      vectors.set(p, off);
      off += p.length;
    }
    return new BoolRetriever(encoder, ids, vectors, options);
  }

  static async load(dir: string, encoder: Encoder, options: { name?: string } = {}): Promise<BoolRetriever> {
    checkOptions(boolLoadOptionsSchema, options, 'BoolRetriever.load options');
    const manifest = await openIndexDir(dir, FORMAT, [VERSION]);
    const dim = manifest.meta['dim'];
    if (dim !== encoder.dim) throw new InputError(`The document vectors in ${dir} are ${String(dim)}-d but the encoder gives ${encoder.dim}-d; use the same base encoder or rebuild.`);
    const ids = JSON.parse(await readFile(join(dir, 'ids.json'), 'utf8')) as string[];
    const vectors = readTyped(await readFile(join(dir, 'vectors.f32')), Float32Array);
    return new BoolRetriever(encoder, ids, vectors, options);
  }

  async save(dir: string): Promise<void> {
    await saveIndexDir(dir, { format: FORMAT, version: VERSION, meta: { dim: this.queryEncoder.dim, docs: this.ids.length } }, async (tmp) => {
      await writeFile(join(tmp, 'ids.json'), JSON.stringify(this.ids));
      await writeFile(join(tmp, 'vectors.f32'), bytesOf(this.vectors));
    });
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 0) throw new InputError(`k must be a whole number >= 0, got ${k}.`);
    throwIfAborted(options.signal, 'search');
    const texts = queries.map((q) => (typeof q === 'string' ? q : q.text));
    const qm = await this.queryEncoder.encode(texts, { role: 'query', ...(options.signal ? { signal: options.signal } : {}) });
    return texts.map((_, qi) => this.#scan(qm.data.subarray(qi * qm.cols, (qi + 1) * qm.cols), k, options.filter));
  }

  /** Cosine of each given document with a query vector (both unit length). */
  #scan(q: Float32Array, k: number, filter?: (id: string) => boolean): Hit[] {
    const d = q.length;
    const V = this.vectors;
    const top = new TopK(k);
    // A query with no known token encodes to zeros and matches nothing.
    if (isZero(q, 0, d)) return [];
    for (let i = 0; i < this.ids.length; i++) {
      if (this.#zero[i] || (filter && !filter(this.ids[i]!))) continue;
      let s = 0;
      const o = i * d;
      for (let j = 0; j < d; j++) s += q[j]! * V[o + j]!;
      if (s > top.threshold) top.push(i, s);
    }
    const { indices, scores } = top.drain();
    return Array.from(indices, (index, r) => ({ id: this.ids[index]!, score: scores[r]! }));
  }
}

function isZero(v: Float32Array, offset: number, length: number): boolean {
  for (let j = offset; j < offset + length; j++) if (v[j] !== 0) return false;
  return true;
}
