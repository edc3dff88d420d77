import { InputError, type RaggedMatrix } from '@quarry/core';
import type { Gemm } from '../gemm.js';

export interface MaxSimBatch {
  /** B query items (raw, un-normalised token vectors). Query i's positive is document i. */
  queries: RaggedMatrix;
  /** M >= B document items: the B positives, then hard negatives. */
  docs: RaggedMatrix;
  /** `B x M`: 1 where document j must not count as a negative of query i (the same text as its positive). */
  exclude?: Uint8Array;
}

export interface MaxSimLossOptions {
  temperature: number;
  /** Matryoshka prefix dims; each is normalised and scored on its own, losses summed. */
  dims: readonly number[];
  dimWeights?: readonly number[];
  /** onnxruntime GEMM for the token similarity matrix; plain JavaScript without it. */
  gemm?: Gemm;
}

export interface MaxSimLossResult {
  loss: number;
  perDim: number[];
  /** d(loss)/d(query token vectors), rows x dim. */
  gradQueries: Float64Array;
  gradDocs: Float64Array;
}

/** First `m` components of each row, L2-normalised; the norms (for the backward pass). */
function normalizedPrefix(x: RaggedMatrix, m: number): { data: Float32Array; norms: Float64Array } {
  const rows = x.data.length / x.dim;
  const data = new Float32Array(rows * m);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += x.data[r * x.dim + j]! ** 2;
    const n = Math.sqrt(s);
    norms[r] = n;
    if (n > 0) for (let j = 0; j < m; j++) data[r * m + j] = x.data[r * x.dim + j]! / n;
  }
  return { data, norms };
}

function productJs(a: Float32Array, b: Float32Array, m: number): Float32Array {
  const ra = a.length / m;
  const rb = b.length / m;
  const out = new Float32Array(ra * rb);
  for (let i = 0; i < ra; i++) {
    for (let j = 0; j < rb; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += a[i * m + k]! * b[j * m + k]!;
      out[i * rb + j] = s;
    }
  }
  return out;
}

/**
 * InfoNCE over ColBERT's MaxSim score, under a Matryoshka loss: for each prefix dim the
 * token vectors are cut and re-normalised, each query is scored against every document of
 * the batch (in-batch and hard negatives) by sum over its tokens of the best document token,
 * and the cross-entropy of the positive is averaged over queries. Gradients flow through the
 * arg-max token of each (query token, document) pair and through the normalisation.
 */
export async function maxSimInfoNce(batch: MaxSimBatch, options: MaxSimLossOptions): Promise<MaxSimLossResult> {
  const gemm = options.gemm;
  if (!gemm) return maxSimInfoNceSync(batch, options);
  const similarities = new Map<number, Float32Array>();
  for (const m of options.dims) {
    if (m < 1 || m > batch.queries.dim) continue; // reported by the sync pass
    similarities.set(m, await gemm.product(normalizedPrefix(batch.queries, m).data, normalizedPrefix(batch.docs, m).data, m));
  }
  return maxSimInfoNceSync(batch, options, (m) => similarities.get(m)!);
}

/** The same loss, synchronously; token similarities from `similarity(m)` when given, else plain JavaScript. */
export function maxSimInfoNceSync(batch: MaxSimBatch, options: Omit<MaxSimLossOptions, 'gemm'>, similarity?: (m: number) => Float32Array): MaxSimLossResult {
  const { queries, docs } = batch;
  const d = queries.dim;
  if (docs.dim !== d) throw new InputError(`maxSimInfoNce: queries are ${d}-d, documents ${docs.dim}-d.`);
  const B = queries.offsets.length - 1;
  const M = docs.offsets.length - 1;
  if (M < B) throw new InputError(`maxSimInfoNce: ${M} documents for ${B} queries; each query needs its positive.`);
  const tau = options.temperature;
  const gradQueries = new Float64Array(queries.data.length);
  const gradDocs = new Float64Array(docs.data.length);
  const perDim: number[] = [];
  let total = 0;
  for (const [level, m] of options.dims.entries()) {
    if (m < 1 || m > d) throw new InputError(`maxSimInfoNce: Matryoshka dim ${m} is outside 1..${d}.`);
    const weight = options.dimWeights?.[level] ?? 1;
    const q = normalizedPrefix(queries, m);
    const k = normalizedPrefix(docs, m);
    const nd = k.data.length / m;
    const S = similarity ? similarity(m) : productJs(q.data, k.data, m);
    // Scores and, per (query token, document), the arg-max document token.
    const nqRows = q.data.length / m;
    const best = new Int32Array(nqRows * M).fill(-1);
    const scores = new Float64Array(B * M);
    for (let i = 0; i < B; i++) {
      for (let r = queries.offsets[i]!; r < queries.offsets[i + 1]!; r++) {
        const row = r * nd;
        for (let j = 0; j < M; j++) {
          let arg = -1;
          let max = -Infinity;
          for (let c = docs.offsets[j]!; c < docs.offsets[j + 1]!; c++) {
            const v = S[row + c]!;
            if (v > max) {
              max = v;
              arg = c;
            }
          }
          if (arg >= 0) {
            best[r * M + j] = arg;
            scores[i * M + j]! += max;
          }
        }
      }
    }
    let loss = 0;
    const G = new Float64Array(B * M);
    for (let i = 0; i < B; i++) {
      let mx = -Infinity;
      for (let j = 0; j < M; j++) if (!batch.exclude?.[i * M + j]) mx = Math.max(mx, scores[i * M + j]! / tau);
      let z = 0;
      for (let j = 0; j < M; j++) if (!batch.exclude?.[i * M + j]) z += Math.exp(scores[i * M + j]! / tau - mx);
      loss += -(scores[i * M + i]! / tau - mx - Math.log(z));
      for (let j = 0; j < M; j++) {
        if (batch.exclude?.[i * M + j]) continue;
        const p = Math.exp(scores[i * M + j]! / tau - mx) / z;
        G[i * M + j] = ((p - (i === j ? 1 : 0)) / (tau * B)) * weight;
      }
    }
    loss /= B;
    perDim.push(loss);
    total += weight * loss;
    // Back through MaxSim into the normalised prefixes, then through the normalisation.
    const gq = new Float64Array(q.data.length);
    const gk = new Float64Array(k.data.length);
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < M; j++) {
        const g = G[i * M + j]!;
        if (g === 0) continue;
        for (let r = queries.offsets[i]!; r < queries.offsets[i + 1]!; r++) {
          const c = best[r * M + j]!;
          if (c < 0) continue;
          for (let t = 0; t < m; t++) {
            gq[r * m + t]! += g * k.data[c * m + t]!;
            gk[c * m + t]! += g * q.data[r * m + t]!;
          }
        }
      }
    }
    backNormalize(gq, q, m, gradQueries, d);
    backNormalize(gk, k, m, gradDocs, d);
  }
  return { loss: total, perDim, gradQueries, gradDocs };
}

/** d/dv of v/|v| applied to `g` (rows of the normalised prefix), added into the raw rows' first m components. */
function backNormalize(g: Float64Array, x: { data: Float32Array; norms: Float64Array }, m: number, out: Float64Array, d: number): void {
  const rows = x.norms.length;
  for (let r = 0; r < rows; r++) {
    const n = x.norms[r]!;
    if (n === 0) continue;
    let dot = 0;
    for (let t = 0; t < m; t++) dot += g[r * m + t]! * x.data[r * m + t]!;
    for (let t = 0; t < m; t++) out[r * d + t]! += (g[r * m + t]! - dot * x.data[r * m + t]!) / n;
  }
}
