import { InputError, type RaggedMatrix } from '@quarry/core';

/**
 * Keeps the first `dim` components of every token vector and re-normalises them
 * (Jina-ColBERT-v2's Matryoshka heads: 128, 96, 64 ... are prefixes of the full output).
 */
export function truncateTokens(m: RaggedMatrix, dim: number): RaggedMatrix {
  checkMatryoshkaDim(dim, m.dim);
  if (dim === m.dim) return m;
  const rows = m.data.length / m.dim;
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const v = m.data[r * m.dim + k]!;
      data[r * dim + k] = v;
      norm += v * v;
    }
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let k = 0; k < dim; k++) data[r * dim + k]! *= inv;
    }
  }
  return { dim, offsets: m.offsets, data };
}

/** One item of a ragged matrix as its own ragged matrix (for caching documents one by one). */
export function sliceItem(m: RaggedMatrix, i: number): RaggedMatrix {
  const a = m.offsets[i]!;
  const b = m.offsets[i + 1]!;
  return { dim: m.dim, offsets: Int32Array.of(0, b - a), data: m.data.slice(a * m.dim, b * m.dim) };
}

/** Throws unless `dim` is a usable prefix of a `full`-dimensional token vector. */
export function checkMatryoshkaDim(dim: number, full: number): void {
  if (!Number.isInteger(dim) || dim < 1 || dim > full) throw new InputError(`Matryoshka dim must be an integer in 1..${full}, got ${dim}.`);
}
