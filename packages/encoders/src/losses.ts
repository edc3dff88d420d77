import { InputError } from '@quarry/core';

/**
 * One contrastive batch: B queries and M >= B documents, where document i (i < B) is
 * query i's positive and every other column is a negative for it (in-batch negatives:
 * other queries' positives; hard negatives: the extra columns).
 */
export interface ContrastiveBatch {
  /** B x dim, row-major (raw pooled vectors; the loss normalises them). */
  queries: Float64Array;
  /** M x dim. */
  docs: Float64Array;
  B: number;
  M: number;
  dim: number;
  /** Optional B x M mask: 1 = column j is not a negative for query i (a duplicate of its positive). */
  exclude?: Uint8Array;
}

export interface MatryoshkaInfoNceOptions {
  /** Softmax temperature (sentence-transformers' MNRL uses scale 20 = temperature 0.05). */
  temperature: number;
  /** Prefix dimensions, each <= dim (Matryoshka). [dim] = plain InfoNCE. */
  dims: readonly number[];
  /** One weight per prefix dimension (default all 1). */
  dimWeights?: readonly number[];
}

export interface LossResult {
  /** Weighted sum over prefix dims of the mean InfoNCE loss. */
  loss: number;
  /** Unweighted mean loss of each prefix dim. */
  perDim: number[];
  gradQueries: Float64Array;
  gradDocs: Float64Array;
}

/**
 * InfoNCE / multiple-negatives ranking loss with Matryoshka prefixes: for each prefix
 * length m, queries and documents are truncated to their first m components and
 * L2-normalised, scores are cosine / temperature, and the loss is the cross-entropy of
 * each query's positive against all (non-excluded) columns. Gradients w.r.t. the raw
 * (un-normalised) vectors are returned.
 */
export function matryoshkaInfoNce(batch: ContrastiveBatch, options: MatryoshkaInfoNceOptions): LossResult {
  const { queries, docs, B, M, dim, exclude } = batch;
  if (M < B) throw new InputError(`a contrastive batch needs at least as many documents (${M}) as queries (${B}).`);
  if (queries.length !== B * dim || docs.length !== M * dim) throw new InputError('contrastive batch arrays do not match B, M and dim.');
  const tau = options.temperature;
  if (!(tau > 0)) throw new InputError(`temperature must be > 0, got ${tau}.`);
  const weights = options.dimWeights ?? options.dims.map(() => 1);
  if (weights.length !== options.dims.length) throw new InputError('give one Matryoshka weight per prefix dimension.');
  const gq = new Float64Array(B * dim);
  const gd = new Float64Array(M * dim);
  const perDim: number[] = [];
  let total = 0;
  const qn = new Float64Array(B * dim);
  const dn = new Float64Array(M * dim);
  const qNorm = new Float64Array(B);
  const dNorm = new Float64Array(M);
  const S = new Float64Array(B * M);
  const dqn = new Float64Array(B * dim);
  const ddn = new Float64Array(M * dim);
  for (const [di, m] of options.dims.entries()) {
    if (!Number.isInteger(m) || m < 1 || m > dim) throw new InputError(`Matryoshka dim ${m} is outside 1..${dim}.`);
    const w = weights[di]!;
    normalizePrefix(queries, B, dim, m, qn, qNorm);
    normalizePrefix(docs, M, dim, m, dn, dNorm);
    // Scores.
    for (let i = 0; i < B; i++) {
      const qo = i * dim;
      for (let j = 0; j < M; j++) {
        const dOff = j * dim;
        let s = 0;
        for (let c = 0; c < m; c++) s += qn[qo + c]! * dn[dOff + c]!;
        S[i * M + j] = s / tau;
      }
    }
    // Softmax cross-entropy per row; S becomes G = w * (softmax - onehot) / (B * tau).
    let lossM = 0;
    for (let i = 0; i < B; i++) {
      const row = i * M;
      let max = -Infinity;
      for (let j = 0; j < M; j++) if (!(exclude && j !== i && exclude[row + j])) max = Math.max(max, S[row + j]!);
      let z = 0;
      for (let j = 0; j < M; j++) {
        if (exclude && j !== i && exclude[row + j]) continue;
        z += Math.exp(S[row + j]! - max);
      }
      const logZ = max + Math.log(z);
      lossM += logZ - S[row + i]!;
      for (let j = 0; j < M; j++) {
        const p = exclude && j !== i && exclude[row + j] ? 0 : Math.exp(S[row + j]! - logZ);
        S[row + j] = (w * (p - (j === i ? 1 : 0))) / (B * tau);
      }
    }
    lossM /= B;
    perDim.push(lossM);
    total += w * lossM;
    // d(normalised q) = G dn ; d(normalised d) = G^T qn.
    dqn.fill(0, 0, B * dim);
    ddn.fill(0, 0, M * dim);
    for (let i = 0; i < B; i++) {
      const qo = i * dim;
      for (let j = 0; j < M; j++) {
        const g = S[i * M + j]!;
        if (g === 0) continue;
        const dOff = j * dim;
        for (let c = 0; c < m; c++) {
          dqn[qo + c]! += g * dn[dOff + c]!;
          ddn[dOff + c]! += g * qn[qo + c]!;
        }
      }
    }
    backNormalizePrefix(qn, dqn, qNorm, B, dim, m, gq);
    backNormalizePrefix(dn, ddn, dNorm, M, dim, m, gd);
  }
  return { loss: total, perDim, gradQueries: gq, gradDocs: gd };
}

function normalizePrefix(x: Float64Array, rows: number, dim: number, m: number, out: Float64Array, norms: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    const o = i * dim;
    let s = 0;
    for (let c = 0; c < m; c++) s += x[o + c]! * x[o + c]!;
    const n = Math.sqrt(s);
    norms[i] = n;
    const inv = n > 0 ? 1 / n : 0;
    for (let c = 0; c < m; c++) out[o + c] = x[o + c]! * inv;
  }
}

/** y = x / |x|  =>  dx = (dy - y (y . dy)) / |x|, accumulated into `grad`. */
function backNormalizePrefix(y: Float64Array, dy: Float64Array, norms: Float64Array, rows: number, dim: number, m: number, grad: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    const n = norms[i]!;
    if (n === 0) continue;
    const o = i * dim;
    let dot = 0;
    for (let c = 0; c < m; c++) dot += y[o + c]! * dy[o + c]!;
    for (let c = 0; c < m; c++) grad[o + c]! += (dy[o + c]! - y[o + c]! * dot) / n;
  }
}
