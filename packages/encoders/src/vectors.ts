import { InputError, type Matrix, type RaggedMatrix } from '@quarry/core';

/** Resolves a Matryoshka `dim` against a model's full dimension (undefined = full). */
export function resolveDim(requested: number | undefined, full: number): number {
  if (requested === undefined) return full;
  if (!Number.isInteger(requested) || requested < 1 || requested > full) {
    throw new InputError(`Matryoshka dim must be an integer in 1..${full} (the model's dimension), got ${requested}.`, { dim: requested, max: full });
  }
  return requested;
}

/** Scales `v[offset .. offset+n)` to unit L2 norm (zero vectors stay zero). */
export function normalizeInPlace(v: Float32Array, offset = 0, n = v.length - offset): void {
  let s = 0;
  for (let j = 0; j < n; j++) s += v[offset + j]! * v[offset + j]!;
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < n; j++) v[offset + j]! *= inv;
  }
}

/** Keeps the first `dim` columns of each row (a copy), re-normalising rows when asked. */
export function truncateRows(data: Float32Array, rows: number, cols: number, dim: number, normalize: boolean): Float32Array {
  if (dim === cols && !normalize) return data;
  const out = dim === cols ? data : new Float32Array(rows * dim);
  if (dim !== cols) for (let i = 0; i < rows; i++) out.set(data.subarray(i * cols, i * cols + dim), i * dim);
  if (normalize) for (let i = 0; i < rows; i++) normalizeInPlace(out, i * dim, dim);
  return out;
}

export function matrix(rows: number, cols: number, data: Float32Array = new Float32Array(rows * cols)): Matrix {
  return { rows, cols, data };
}

/** Packs per-text token vectors (each `count x dim`) into a RaggedMatrix. */
export function packRagged(parts: readonly Float32Array[], dim: number): RaggedMatrix {
  const offsets = new Int32Array(parts.length + 1);
  let total = 0;
  parts.forEach((p, i) => {
    total += p.length / dim;
    offsets[i + 1] = total;
  });
  const data = new Float32Array(total * dim);
  parts.forEach((p, i) => data.set(p, offsets[i]! * dim));
  return { dim, offsets, data };
}

export function textsArray(texts: readonly string[]): readonly string[] {
  if (!Array.isArray(texts)) throw new InputError('encode() takes an array of strings.');
  for (const [i, t] of texts.entries()) if (typeof t !== 'string') throw new InputError(`texts[${i}] is not a string.`);
  return texts;
}
