// Seeded synthetic vectors shared by the vector-index benchmarks (in-process and Postgres),
// so both measure recall on exactly the same data.
import { SeededRandom } from '@quarry/core';

/** Standard normal draws (Box-Muller) from a seeded mulberry32 stream. */
export function gaussianSource(seed) {
  const random = new SeededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
}

/** `rows x cols` standard normal entries. */
export function gaussianMatrix(rows, cols, seed) {
  const g = gaussianSource(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = g();
  return { rows, cols, data };
}

/**
 * `rows x dim` low-rank vectors like real embeddings: z · basis / sqrt(rank) + noise · ε, with
 * z (rank) and ε standard normal; `basis` is `rank x dim`, row-major.
 */
export function lowRank(rows, basis, { dim, rank, noise }, seed) {
  const g = gaussianSource(seed);
  const data = new Float32Array(rows * dim);
  const z = new Float64Array(rank);
  const scale = 1 / Math.sqrt(rank);
  for (let i = 0; i < rows; i++) {
    for (let r = 0; r < rank; r++) z[r] = g();
    for (let j = 0; j < dim; j++) {
      let x = 0;
      for (let r = 0; r < rank; r++) x += z[r] * basis[r * dim + j];
      data[i * dim + j] = x * scale + noise * g();
    }
  }
  return { rows, cols: dim, data };
}
