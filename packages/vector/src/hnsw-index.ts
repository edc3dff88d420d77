import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesOf, checkOptions, IndexCorruptError, InputError, safeJoin, saveIndexDir, type Hit, type Matrix } from '@quarry/core';
import { checkHnswFile, inspectHnswFile } from './hnsw-file.js';
import { IdMap } from './id-map.js';
import { HierarchicalNSW } from './native.js';
import { hnswIndexOptionsSchema } from './options.js';
import { BYTE_ORDER, commonMeta, FORMAT_VERSION, HNSW_FORMAT, metaInt, openVectorDir, readBinary, readIds } from './stored.js';
import type { Metric, VectorIndex, VectorInput, VectorSearchOptions } from './types.js';
import { checkFilter, checkIds, checkK, checkMetric, checkPositiveInt, checkRows, copyRow, countRows, prepareQueries, prepareQuery, rowOf } from './validate.js';

/** Native indexes whose `readIndex` failed: never collected, because freeing them would crash. */
const unloadable: HierarchicalNSW[] = [];

export interface HnswIndexOptions {
  /** Vector dimension (positive integer). */
  dim: number;
  /** Default `'cosine'`. */
  metric?: Metric;
  /** Graph out-degree per layer (layer 0 gets 2M). Default 16; 2..10000. */
  M?: number;
  /** Candidate list size while inserting: higher builds slower, gives better graphs. Default 200. */
  efConstruction?: number;
  /** Candidate list size while searching (raised to k when smaller). Default 64. */
  ef?: number;
  /** Seed for hnswlib's level generator, for reproducible graphs. Default 100. */
  seed?: number;
  /** Slots to allocate up front (default 1024); `add` doubles it as needed. */
  capacity?: number;
}

/**
 * Approximate nearest-neighbour search with hnswlib (HNSW graphs, Malkov & Yashunin
 * 2016) through hnswlib-node. Both metrics run in hnswlib's inner-product space;
 * cosine vectors are normalised here first, so scores match `FlatIndex` exactly.
 *
 * Deletes are hnswlib tombstones (`markDelete`); the index is created with
 * `allowReplaceDeleted`, and while tombstones exist `add` inserts with
 * `replaceDeleted`, reusing their memory slots instead of growing the index.
 */
export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw' as const;
  readonly dim: number;
  readonly metric: Metric;
  readonly M: number;
  readonly efConstruction: number;
  readonly seed: number;
  #ef: number;
  #tombstones = 0;
  #map = new IdMap();
  readonly #native: HierarchicalNSW;

  constructor(options: HnswIndexOptions) {
    if (typeof options !== 'object' || options === null) throw new InputError('HnswIndex needs options with at least { dim }.');
    this.dim = checkPositiveInt(options.dim, 'dim');
    this.metric = checkMetric(options.metric ?? 'cosine');
    this.M = checkPositiveInt(options.M ?? 16, 'M');
    if (this.M < 2 || this.M > 10_000) throw new InputError(`M must be between 2 and 10000, got ${this.M}.`, { M: this.M });
    this.efConstruction = checkPositiveInt(options.efConstruction ?? 200, 'efConstruction');
    this.#ef = checkPositiveInt(options.ef ?? 64, 'ef');
    const seed = options.seed ?? 100;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new InputError(`seed must be an integer in [0, 2^32), got ${seed}.`, { seed });
    this.seed = seed;
    const capacity = checkPositiveInt(options.capacity ?? 1024, 'capacity');
    checkOptions(hnswIndexOptionsSchema, options, 'HnswIndex options');
    this.#native = new HierarchicalNSW('ip', this.dim);
    this.#native.initIndex(capacity, this.M, this.efConstruction, this.seed, true);
    this.#native.setEf(this.#ef);
  }

  get size(): number {
    return this.#map.size;
  }

  /** Search-time candidate list size. */
  get ef(): number {
    return this.#ef;
  }

  /** Sets the search-time candidate list size: higher is slower and more accurate. */
  setEf(ef: number): void {
    this.#native.setEf(checkPositiveInt(ef, 'ef'));
    this.#ef = ef;
  }

  /** Element slots allocated (live + tombstoned + free). */
  get capacity(): number {
    return this.#native.getMaxElements();
  }

  /** Deleted elements whose slots the next adds will reuse. */
  get tombstones(): number {
    return this.#tombstones;
  }

  /** Sets the number of allocated slots; it cannot drop below live + tombstoned elements. */
  resize(capacity: number): void {
    checkPositiveInt(capacity, 'capacity');
    const used = this.#native.getCurrentCount();
    if (capacity < used) throw new InputError(`Cannot resize to ${capacity} slots: ${used} are in use (${this.size} live, ${this.#tombstones} deleted awaiting reuse).`, { capacity, used });
    this.#native.resizeIndex(capacity);
  }

  add(ids: readonly string[], vectors: VectorInput): void {
    const dim = this.dim;
    const rows = countRows(vectors, dim, 'vector');
    checkIds(ids, rows, (id) => this.#map.has(id));
    const scales = checkRows(vectors, dim, this.metric, 'vector', ids);
    if (rows === 0) return;
    const needed = this.#native.getCurrentCount() + Math.max(0, rows - this.#tombstones);
    if (needed > this.capacity) this.#native.resizeIndex(Math.max(needed, 2 * this.capacity));
    // hnswlib-node only accepts plain arrays; one reused array avoids an allocation per row.
    const point = new Array<number>(dim);
    for (let r = 0; r < rows; r++) {
      copyRow(rowOf(vectors, r, dim), scales?.[r], point, 0);
      const label = this.#map.peek();
      const reuse = this.#tombstones > 0;
      this.#native.addPoint(point, label, reuse);
      if (reuse) this.#tombstones--;
      this.#map.commit(ids[r]!, label);
    }
  }

  delete(id: string): boolean {
    const label = this.#map.labelOf(id);
    if (label === undefined) return false;
    this.#native.markDelete(label);
    this.#map.remove(id);
    this.#tombstones++;
    return true;
  }

  has(id: string): boolean {
    return this.#map.has(id);
  }

  ids(): IterableIterator<string> {
    return this.#map.ids();
  }

  getVector(id: string): Float32Array | undefined {
    const label = this.#map.labelOf(id);
    return label === undefined ? undefined : Float32Array.from(this.#native.getPoint(label));
  }

  search(query: Float32Array, options?: VectorSearchOptions): Hit[] {
    const k = checkK(options);
    const filter = checkFilter(options);
    const q = prepareQuery(query, this.dim, this.metric);
    return this.#search(Array.from(q), k, filter);
  }

  searchBatch(queries: Matrix, options?: VectorSearchOptions): Hit[][] {
    const k = checkK(options);
    const filter = checkFilter(options);
    const q = prepareQueries(queries, this.dim, this.metric);
    const dim = this.dim;
    const point = new Array<number>(dim);
    const results: Hit[][] = [];
    for (let i = 0; i < queries.rows; i++) {
      for (let j = 0; j < dim; j++) point[j] = q[i * dim + j]!;
      results.push(this.#search(point, k, filter));
    }
    return results;
  }

  /**
   * Saves atomically: hnswlib's graph file plus the id mapping, with M,
   * efConstruction, ef (hnswlib does not store it), metric and counts in the manifest.
   */
  async save(dir: string): Promise<void> {
    const { ids, labels } = this.#map.entries();
    const meta = {
      dim: this.dim,
      metric: this.metric,
      size: this.size,
      byteOrder: BYTE_ORDER,
      M: this.M,
      efConstruction: this.efConstruction,
      ef: this.#ef,
      seed: this.seed,
      capacity: this.capacity,
      tombstones: this.#tombstones,
      nextLabel: this.#map.nextLabel,
    };
    await saveIndexDir(dir, { format: HNSW_FORMAT, version: FORMAT_VERSION, meta }, async (tmp) => {
      // Synchronous on purpose: the async writer runs on a worker thread while JS may
      // keep calling addPoint/markDelete on the same native index.
      this.#native.writeIndexSync(join(tmp, 'graph.hnsw'));
      await writeFile(join(tmp, 'ids.json'), JSON.stringify(ids));
      await writeFile(join(tmp, 'labels.u32'), bytesOf(labels));
    });
  }

  /**
   * Reads an index written by `save`, restoring ef with `setEf` and the deleted
   * slots for reuse. Throws `IndexCorruptError` when a checksum, the graph header or
   * the id mapping disagrees with the manifest.
   */
  static async load(dir: string): Promise<HnswIndex> {
    const manifest = await openVectorDir(dir, HNSW_FORMAT);
    const meta = manifest.meta;
    const { dim, metric, size } = commonMeta(meta, dir);
    const M = metaInt(meta, 'M', dir, 2);
    const efConstruction = metaInt(meta, 'efConstruction', dir, 1);
    const ef = metaInt(meta, 'ef', dir, 1);
    const seed = metaInt(meta, 'seed', dir);
    const capacity = metaInt(meta, 'capacity', dir, 1);
    const tombstones = metaInt(meta, 'tombstones', dir);
    const nextLabel = metaInt(meta, 'nextLabel', dir);
    const ids = await readIds(dir, size);
    const labels = await readBinary(dir, 'labels.u32', Uint32Array, size);
    const file = safeJoin(dir, 'graph.hnsw');
    checkHnswFile(await inspectHnswFile(file, dir), { dim, M, efConstruction, count: size + tombstones, capacity }, dir);

    const index = new HnswIndex({ dim, metric, M, efConstruction, ef, seed, capacity: 1 });
    try {
      await index.#native.readIndex(file, true);
    } catch (error) {
      // The failed native object holds a dangling pointer (see inspectHnswFile); keep it
      // reachable so its finalizer never runs and double-frees.
      unloadable.push(index.#native);
      throw new IndexCorruptError(`graph.hnsw could not be read (${(error as Error).message})`, dir);
    }
    index.#native.setEf(ef);
    const known = new Set(index.#native.getIdsList());
    if (known.size !== size + tombstones) throw new IndexCorruptError(`graph.hnsw holds ${known.size} distinct labels, expected ${size + tombstones}`, dir);
    const map = new IdMap(nextLabel);
    for (let i = 0; i < size; i++) {
      const label = labels[i]!;
      if (label >= nextLabel || !known.has(label) || map.idOf(label) !== undefined) {
        throw new IndexCorruptError(`labels.u32 entry ${i} (${label}) is not a distinct label of the graph`, dir);
      }
      map.commit(ids[i]!, label);
    }
    index.#map = map;
    index.#tombstones = tombstones;
    return index;
  }

  #search(point: number[], k: number, filter: ((id: string) => boolean) | undefined): Hit[] {
    if (this.size === 0) return [];
    // A throwing callback cannot unwind through the native search; remember it and rethrow after.
    let failure: { error: unknown } | undefined;
    const byLabel = filter
      ? (label: number): boolean => {
          if (failure) return false;
          const id = this.#map.idOf(label);
          if (id === undefined) return false;
          try {
            return Boolean(filter(id));
          } catch (error) {
            failure = { error };
            return false;
          }
        }
      : undefined;
    const { distances, neighbors } = this.#native.searchKnn(point, Math.min(k, this.size), byLabel);
    if (failure) throw failure.error;
    const hits: Hit[] = [];
    for (let i = 0; i < neighbors.length; i++) {
      const id = this.#map.idOf(neighbors[i]!);
      // hnswlib's inner-product distance is 1 - <q, x>.
      if (id !== undefined) hits.push({ id, score: 1 - distances[i]! });
    }
    return hits;
  }
}
