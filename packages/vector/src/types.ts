import type { Hit, Matrix, Persistable } from '@quarry/core';

/**
 * How two vectors are compared. Both are "higher is better":
 * - `ip`: the raw inner product `Σ aᵢbᵢ` (for encoders trained with dot-product scores);
 * - `cosine`: vectors are L2-normalised when added and when queried, then compared by
 *   inner product, so scores lie in [-1, 1].
 */
export type Metric = 'ip' | 'cosine';

/** Vectors to add: a row-major `Matrix` (as encoders return) or one `Float32Array` per row. */
export type VectorInput = Matrix | readonly Float32Array[];

export interface VectorSearchOptions {
  /** How many hits to return (a positive integer; default 10). Fewer come back when fewer vectors match. */
  k?: number;
  /** Keep only ids for which this returns true; applied inside the index, before top-k. */
  filter?: (id: string) => boolean;
}

/** What every dense index in this package offers, so `DenseRetriever` (and users) can swap them. */
export interface VectorIndex extends Persistable {
  /** `'flat'` (exact) or `'hnsw'` (approximate). */
  readonly kind: 'flat' | 'hnsw';
  readonly dim: number;
  readonly metric: Metric;
  /** Number of live (not deleted) vectors. */
  readonly size: number;
  /**
   * Adds one vector per id. All-or-nothing: every row and id is checked before
   * anything is stored. Throws `DimensionMismatchError`, `DuplicateIdError` or
   * `InputError` (NaN/Infinity, zero vector under cosine, ids/rows count mismatch).
   */
  add(ids: readonly string[], vectors: VectorInput): void;
  /** Removes `id`; returns false (and changes nothing) when the id is not in the index. */
  delete(id: string): boolean;
  has(id: string): boolean;
  /** Live ids, in no guaranteed order. */
  ids(): IterableIterator<string>;
  /** The stored vector (normalised under cosine), or undefined for an unknown id. */
  getVector(id: string): Float32Array | undefined;
  /** Best hits first. */
  search(query: Float32Array, options?: VectorSearchOptions): Hit[];
  /** One ranked list per query row, best first. */
  searchBatch(queries: Matrix, options?: VectorSearchOptions): Hit[][];
  /** Writes the index atomically to `dir` (a folder with a checksummed manifest). */
  save(dir: string): Promise<void>;
}
