import { DimensionMismatchError, InputError, type RaggedMatrix } from '@quarry/core';

/**
 * ColBERT's late-interaction score: for each query token, the largest dot product with any
 * document token, summed over query tokens. Vectors are expected L2-normalised (cosine).
 * `q` is item `qi` of `queries`, `d` item `di` of `docs`; an empty side scores 0.
 */
export function maxSim(queries: RaggedMatrix, qi: number, docs: RaggedMatrix, di: number): number {
  const dim = queries.dim;
  if (docs.dim !== dim) throw new DimensionMismatchError(dim, docs.dim, 'document token vector');
  const Q = queries.data;
  const D = docs.data;
  const q0 = queries.offsets[qi]!;
  const q1 = queries.offsets[qi + 1]!;
  const d0 = docs.offsets[di]!;
  const d1 = docs.offsets[di + 1]!;
  if (q1 === undefined || d1 === undefined) throw new InputError(`maxSim: item index out of range (query ${qi}, doc ${di}).`);
  if (d0 === d1) return 0;
  const dim4 = dim - (dim % 4);
  let total = 0;
  for (let i = q0; i < q1; i++) {
    const qb = i * dim;
    let best = -Infinity;
    for (let j = d0; j < d1; j++) {
      const db = j * dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let k = 0;
      for (; k < dim4; k += 4) {
        s0 += Q[qb + k]! * D[db + k]!;
        s1 += Q[qb + k + 1]! * D[db + k + 1]!;
        s2 += Q[qb + k + 2]! * D[db + k + 2]!;
        s3 += Q[qb + k + 3]! * D[db + k + 3]!;
      }
      for (; k < dim; k++) s0 += Q[qb + k]! * D[db + k]!;
      const s = s0 + s1 + s2 + s3;
      if (s > best) best = s;
    }
    total += best;
  }
  return total;
}

/**
 * For each query token, the document token it matched best and that similarity:
 * the explanation a UI shows ("which query token matched which document token").
 */
export function maxSimAlignment(queries: RaggedMatrix, qi: number, docs: RaggedMatrix, di: number): { docToken: Int32Array; similarity: Float64Array } {
  const dim = queries.dim;
  const q0 = queries.offsets[qi]!;
  const q1 = queries.offsets[qi + 1]!;
  const d0 = docs.offsets[di]!;
  const d1 = docs.offsets[di + 1]!;
  const docToken = new Int32Array(q1 - q0).fill(-1);
  const similarity = new Float64Array(q1 - q0);
  for (let i = q0; i < q1; i++) {
    let best = -Infinity;
    for (let j = d0; j < d1; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += queries.data[i * dim + k]! * docs.data[j * dim + k]!;
      if (s > best) {
        best = s;
        docToken[i - q0] = j - d0;
      }
    }
    similarity[i - q0] = d1 > d0 ? best : 0;
  }
  return { docToken, similarity };
}
