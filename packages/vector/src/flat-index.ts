import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesOf, checkOptions, saveIndexDir, TopK, type Hit, type Matrix } from '@quarry/core';
import { dot, scoreRows1, scoreRows4 } from './kernels.js';
import { flatIndexOptionsSchema } from './options.js';
import { BYTE_ORDER, commonMeta, FLAT_FORMAT, FORMAT_VERSION, openVectorDir, readBinary, readIds } from './stored.js';
import type { Metric, VectorIndex, VectorInput, VectorSearchOptions } from './types.js';
import { checkFilter, checkIds, checkK, checkMetric, checkPositiveInt, checkRows, copyRow, countRows, prepareQueries, prepareQuery, rowOf } from './validate.js';

export interface FlatIndexOptions {
  /** Vector dimension (positive integer). */
  dim: number;
  /** Default `'cosine'`. */
  metric?: Metric;
  /** Rows to allocate up front (default 0); storage doubles as needed. */
  capacity?: number;
}

/** Rows scored per pass: 4 x ROW_BLOCK doubles of scratch stay in L1. */
const ROW_BLOCK = 512;

/**
 * Exact nearest-neighbour search: every live vector sits in one contiguous,
 * row-major Float32Array, and queries are scored against all of it with
 * register-blocked inner products, keeping the best k per query in a `TopK` heap.
 *
 * Deletes swap-remove: the last row moves into the deleted row's slot, so the
 * storage stays dense (no tombstones, no compaction pass, scans touch only live
 * rows). Row order therefore changes on delete; ties between equal scores go to
 * the lower row.
 */
export class FlatIndex implements VectorIndex {
  readonly kind = 'flat' as const;
  readonly dim: number;
  readonly metric: Metric;
  #data: Float32Array;
  #ids: string[] = [];
  readonly #rows = new Map<string, number>();

  constructor(options: FlatIndexOptions) {
    this.dim = checkPositiveInt(options?.dim, 'dim');
    this.metric = checkMetric(options.metric ?? 'cosine');
    const capacity = options.capacity ?? 0;
    if (capacity !== 0) checkPositiveInt(capacity, 'capacity');
    checkOptions(flatIndexOptionsSchema, options, 'FlatIndex options');
    this.#data = new Float32Array(capacity * this.dim);
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Rows the storage holds before it must grow. */
  get capacity(): number {
    return this.#data.length / this.dim;
  }

  add(ids: readonly string[], vectors: VectorInput): void {
    const rows = countRows(vectors, this.dim, 'vector');
    checkIds(ids, rows, (id) => this.#rows.has(id));
    const scales = checkRows(vectors, this.dim, this.metric, 'vector', ids);
    this.#reserve(this.size + rows);
    // Written straight into storage: a large batch needs no temporary copy.
    for (let r = 0; r < rows; r++) copyRow(rowOf(vectors, r, this.dim), scales?.[r], this.#data, (this.size + r) * this.dim);
    for (const id of ids) {
      this.#rows.set(id, this.#ids.length);
      this.#ids.push(id);
    }
  }

  delete(id: string): boolean {
    const row = this.#rows.get(id);
    if (row === undefined) return false;
    const last = this.#ids.length - 1;
    if (row !== last) {
      const dim = this.dim;
      this.#data.copyWithin(row * dim, last * dim, (last + 1) * dim);
      const moved = this.#ids[last]!;
      this.#ids[row] = moved;
      this.#rows.set(moved, row);
    }
    this.#ids.pop();
    this.#rows.delete(id);
    return true;
  }

  has(id: string): boolean {
    return this.#rows.has(id);
  }

  ids(): IterableIterator<string> {
    // A snapshot: swap-remove would otherwise reorder rows under a live iterator.
    return this.#ids.slice().values();
  }

  getVector(id: string): Float32Array | undefined {
    const row = this.#rows.get(id);
    return row === undefined ? undefined : this.#data.slice(row * this.dim, (row + 1) * this.dim);
  }

  search(query: Float32Array, options?: VectorSearchOptions): Hit[] {
    const k = checkK(options);
    const filter = checkFilter(options);
    const q = prepareQuery(query, this.dim, this.metric);
    return this.#scan(q, 1, k, filter)[0]!;
  }

  searchBatch(queries: Matrix, options?: VectorSearchOptions): Hit[][] {
    const k = checkK(options);
    const filter = checkFilter(options);
    const q = prepareQueries(queries, this.dim, this.metric);
    return this.#scan(q, queries.rows, k, filter);
  }

  async save(dir: string): Promise<void> {
    const n = this.size;
    const meta = { dim: this.dim, metric: this.metric, size: n, byteOrder: BYTE_ORDER };
    await saveIndexDir(dir, { format: FLAT_FORMAT, version: FORMAT_VERSION, meta }, async (tmp) => {
      await writeFile(join(tmp, 'vectors.f32'), bytesOf(this.#data.subarray(0, n * this.dim)));
      await writeFile(join(tmp, 'ids.json'), JSON.stringify(this.#ids));
    });
  }

  /** Reads an index written by `save`; throws `IndexCorruptError` when any file fails its checks. */
  static async load(dir: string): Promise<FlatIndex> {
    const manifest = await openVectorDir(dir, FLAT_FORMAT);
    const { dim, metric, size } = commonMeta(manifest.meta, dir);
    const ids = await readIds(dir, size);
    const data = await readBinary(dir, 'vectors.f32', Float32Array, size * dim);
    const index = new FlatIndex({ dim, metric });
    index.#data = data;
    index.#ids = ids;
    ids.forEach((id, row) => index.#rows.set(id, row));
    return index;
  }

  #reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const grown = new Float32Array(Math.max(rows, this.capacity * 2, 16) * this.dim);
    grown.set(this.#data.subarray(0, this.size * this.dim));
    this.#data = grown;
  }

  /** Top-k of `nq` packed queries against every live row (optionally only rows passing `filter`). */
  #scan(queries: Float32Array, nq: number, k: number, filter: ((id: string) => boolean) | undefined): Hit[][] {
    const n = this.size;
    const results: Hit[][] = [];
    if (n === 0 || nq === 0) return Array.from({ length: nq }, () => []);
    let allowed: Uint8Array | undefined;
    let allowedCount = n;
    if (filter) {
      // The filter runs once per row per call, not once per query.
      allowed = new Uint8Array(n);
      allowedCount = 0;
      for (let r = 0; r < n; r++) {
        if (!filter(this.#ids[r]!)) continue;
        allowed[r] = 1;
        allowedCount++;
      }
      if (allowedCount === 0) return Array.from({ length: nq }, () => []);
    }
    const top = new TopK(Math.min(k, allowedCount));
    if (allowed && allowedCount * 4 < n) {
      // Selective filter: score only the rows that pass.
      const list = new Int32Array(allowedCount);
      for (let r = 0, i = 0; r < n; r++) if (allowed[r]) list[i++] = r;
      for (let qi = 0; qi < nq; qi++) {
        for (let i = 0; i < list.length; i++) top.push(list[i]!, dot(queries, qi * this.dim, this.#data, list[i]! * this.dim, this.dim));
        results.push(this.#hits(top));
      }
      return results;
    }
    const heaps = [top, new TopK(top.capacity), new TopK(top.capacity), new TopK(top.capacity)];
    const scratch = new Float64Array(4 * ROW_BLOCK);
    for (let q0 = 0; q0 < nq; q0 += 4) {
      const group = Math.min(4, nq - q0);
      for (let r0 = 0; r0 < n; r0 += ROW_BLOCK) {
        const r1 = Math.min(n, r0 + ROW_BLOCK);
        if (group === 4) scoreRows4(queries, q0 * this.dim, this.#data, r0, r1, this.dim, scratch, ROW_BLOCK);
        else for (let g = 0; g < group; g++) scoreRows1(queries, (q0 + g) * this.dim, this.#data, r0, r1, this.dim, scratch, g * ROW_BLOCK);
        for (let g = 0; g < group; g++) collect(heaps[g]!, scratch, g * ROW_BLOCK, r0, r1, allowed);
      }
      for (let g = 0; g < group; g++) results.push(this.#hits(heaps[g]!));
    }
    return results;
  }

  #hits(top: TopK): Hit[] {
    const { indices, scores } = top.drain();
    const hits: Hit[] = new Array(indices.length);
    for (let i = 0; i < indices.length; i++) hits[i] = { id: this.#ids[indices[i]!]!, score: scores[i]! };
    return hits;
  }
}

/** Pushes scores of rows [r0, r1) (at scratch[offset..]) into the heap, skipping rows the filter rejected. */
function collect(top: TopK, scratch: Float64Array, offset: number, r0: number, r1: number, allowed: Uint8Array | undefined): void {
  let threshold = top.threshold;
  for (let r = r0; r < r1; r++) {
    const s = scratch[offset + r - r0]!;
    // >= so equal scores reach the heap, which breaks ties by row.
    if (s >= threshold && (allowed === undefined || allowed[r] === 1)) {
      top.push(r, s);
      threshold = top.threshold;
    }
  }
}
