import { InputError, SeededRandom } from '@quarry/core';
import type { Gemm } from './gemm.js';

export interface KMeansOptions {
  /** Lloyd iterations (ColBERTv2 uses 4 with faiss). */
  iterations?: number;
  seed?: number;
  signal?: AbortSignal;
}

/**
 * Spherical k-means over L2-normalised rows: centroids start as `k` distinct sampled rows,
 * each iteration assigns rows to the centroid with the largest dot product (onnxruntime
 * GEMM) and re-normalises the mean of each cluster. An empty cluster keeps its centroid.
 * Deterministic for a given seed.
 */
export async function sphericalKMeans(x: Float32Array, dim: number, k: number, gemm: Gemm, options: KMeansOptions = {}): Promise<Float32Array> {
  const rows = x.length / dim;
  if (!Number.isInteger(rows)) throw new InputError(`k-means input holds ${x.length} values, not a multiple of dim ${dim}.`);
  if (k < 1 || k > rows) throw new InputError(`k-means needs 1 <= k <= rows; got k = ${k} for ${rows} rows. Index more documents or ask for fewer centroids.`);
  const rng = new SeededRandom(options.seed ?? 12345);
  // k distinct rows: a partial Fisher-Yates shuffle of the row indices.
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const centroids = new Float32Array(k * dim);
  for (let c = 0; c < k; c++) {
    const j = c + rng.int(rows - c);
    const r = order[j]!;
    order[j] = order[c]!;
    order[c] = r;
    centroids.set(x.subarray(r * dim, (r + 1) * dim), c * dim);
  }
  const sums = new Float64Array(k * dim);
  const counts = new Int32Array(k);
  for (let it = 0; it < (options.iterations ?? 4); it++) {
    if (options.signal?.aborted) throw options.signal.reason;
    const { codes } = await gemm.assign(x, centroids, dim);
    sums.fill(0);
    counts.fill(0);
    for (let r = 0; r < rows; r++) {
      const c = codes[r]!;
      counts[c]!++;
      const base = r * dim;
      const o = c * dim;
      for (let j = 0; j < dim; j++) sums[o + j]! += x[base + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += sums[c * dim + j]! ** 2;
      if (norm === 0) continue;
      const inv = 1 / Math.sqrt(norm);
      for (let j = 0; j < dim; j++) centroids[c * dim + j] = sums[c * dim + j]! * inv;
    }
  }
  return centroids;
}

/** ColBERTv2's centroid count for a corpus of `tokens` token vectors: 2^floor(log2(16 * sqrt(tokens))). */
export function colbertCentroidCount(tokens: number): number {
  if (tokens < 1) return 1;
  return 2 ** Math.floor(Math.log2(16 * Math.sqrt(tokens)));
}
