import { InputError, SeededRandom, checkOptions } from '@quarry/core';
import { drtConfigSchema } from './options.js';
import { attendHead, attendHeadBackward, gcaBackward, gcaForward, type ChunkKV, type GcaConfig, type GcaRetrieval } from './gca.js';
import { PASSKEY_VOCAB } from './passkey.js';

/**
 * A small DRT-style decoder (Hu et al. 2024), hand-written on Float32Array:
 *
 *   tokens ─▶ lower layer: sliding-window self-attention (window W, relative-position biases,
 *             value embeddings, no absolute positions) ─▶ x
 *   x of each chunk (`chunk` tokens) ─▶ chunk encoder: the chunk's landmark attends to its
 *             own chunk only (ordinary tokens never see landmarks) ─▶ landmark query/key
 *   x ─▶ upper layer: causal attention over the current and the previous chunk + GCA over
 *             chunks retrieved by the previous chunk's landmark ─▶ next-token logits
 *
 * Retrieved chunks expose their own tokens plus the first `overlap` tokens of the next chunk
 * as keys/values, so a key that crosses a chunk boundary is whole in one retrieved chunk.
 */
export interface DrtConfig {
  vocab: number;
  dim: number;
  heads: number;
  /** Lower layer's sliding window (tokens, the current one included). */
  window: number;
  /** Ordinary tokens per chunk (paper: 63 + 1 landmark). */
  chunk: number;
  /** Tokens of the next chunk appended to a retrieved chunk's keys/values. */
  overlap: number;
  /**
   * Last states of the previous chunk prepended to a retrieved chunk's keys/values (training and
   * inference alike), so that a key crossing a chunk boundary is whole whichever of its two
   * chunks the retriever ranks first. Absent = 0 (weights files written before it existed).
   */
  lookback?: number;
  groups: number;
  relDim: number;
  topK: number;
  /**
   * 1 = relative-position value embeddings in the lower layer (Shaw et al. 2018): a head's output
   * adds sum_o p_o r[h, o], so where it attended (e.g. "the key marker is 3 back") is explicit.
   */
  relValues: number;
}

export const DEFAULT_DRT_CONFIG: DrtConfig = {
  vocab: PASSKEY_VOCAB,
  dim: 32,
  heads: 4,
  window: 64,
  chunk: 63,
  overlap: 8,
  lookback: 8,
  groups: 1,
  relDim: 16,
  topK: 8,
  relValues: 1,
};

type ParamName = 'E' | 'Ev' | 'Wq' | 'Wk' | 'B' | 'Rv' | 'Wo' | 'lu' | 'Wvl' | 'Wrq' | 'Wrk' | 'Wq2' | 'Wk2' | 'Wv2' | 'Wo2' | 'sinkLoc' | 'sinkGca' | 'Wout' | 'bout';

export function paramLayout(c: DrtConfig): Record<ParamName, [offset: number, size: number]> {
  const d = c.dim;
  const sizes: [ParamName, number][] = [
    ['E', c.vocab * d],
    ['Ev', c.vocab * d],
    ['Wq', d * d],
    ['Wk', d * d],
    ['B', c.heads * c.window],
    ['Rv', c.relValues ? c.window * d : 0],
    ['Wo', d * d],
    ['lu', c.heads * d],
    ['Wvl', d * d],
    ['Wrq', c.groups * c.relDim * d],
    ['Wrk', c.groups * c.relDim * d],
    ['Wq2', d * d],
    ['Wk2', d * d],
    ['Wv2', d * d],
    ['Wo2', d * d],
    ['sinkLoc', c.heads],
    ['sinkGca', c.heads],
    ['Wout', c.vocab * d],
    ['bout', c.vocab],
  ];
  const out = {} as Record<ParamName, [number, number]>;
  let off = 0;
  for (const [name, size] of sizes) {
    out[name] = [off, size];
    off += size;
  }
  return out;
}

export function paramCount(c: DrtConfig): number {
  return Object.values(paramLayout(c)).reduce((s, [, n]) => s + n, 0);
}

export function validateDrtConfig(c: DrtConfig): void {
  for (const [name, value] of Object.entries(c)) {
    if (name === 'lookback' && value === undefined) continue;
    const zeroOk = name === 'overlap' || name === 'relValues' || name === 'lookback';
    if (!Number.isInteger(value) || value < 0 || (value === 0 && !zeroOk)) throw new InputError(`DRT config: ${name} must be a ${zeroOk ? 'non-negative' : 'positive'} integer, got ${String(value)}.`);
  }
  if (c.dim % c.heads !== 0) throw new InputError(`DRT config: dim (${c.dim}) must be a multiple of heads (${c.heads}).`);
  if (c.heads % c.groups !== 0) throw new InputError(`DRT config: heads (${c.heads}) must be a multiple of groups (${c.groups}).`);
  if (c.overlap > c.chunk) throw new InputError(`DRT config: overlap (${c.overlap}) cannot exceed the chunk size (${c.chunk}).`);
  if ((c.lookback ?? 0) > c.chunk) throw new InputError(`DRT config: lookback (${String(c.lookback)}) cannot exceed the chunk size (${c.chunk}).`);
  if (c.relValues > 1) throw new InputError('DRT config: relValues is 0 or 1.');
  if (c.vocab > 256) throw new InputError('DRT config: token ids are stored as bytes, so vocab must be <= 256.');
  // Last, so the checks above explain bad values; this one catches unknown (misspelled) keys.
  checkOptions(drtConfigSchema, c, 'DRT config');
}

type Views = Record<ParamName, Float32Array>;

function views(buf: Float32Array, c: DrtConfig): Views {
  const out = {} as Views;
  for (const [name, [off, size]] of Object.entries(paramLayout(c)) as [ParamName, [number, number]][]) out[name] = buf.subarray(off, off + size);
  return out;
}

/** y[i] += sum_j W[i, j] x[j], W row-major [rows, cols]. */
function matVecAdd(W: Float32Array, x: Float32Array | Float64Array, xOff: number, rows: number, cols: number, y: Float32Array | Float64Array, yOff: number): void {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const r = i * cols;
    for (let j = 0; j < cols; j++) s += W[r + j]! * x[xOff + j]!;
    y[yOff + i]! += s;
  }
}

/** dW += dy x^T and dx += W^T dy. */
function matVecBackward(
  W: Float32Array,
  dW: Float32Array,
  x: Float32Array | Float64Array,
  xOff: number,
  rows: number,
  cols: number,
  dy: Float32Array | Float64Array,
  dyOff: number,
  dx: Float32Array | Float64Array | null,
  dxOff: number,
): void {
  for (let i = 0; i < rows; i++) {
    const g = dy[dyOff + i]!;
    if (g === 0) continue;
    const r = i * cols;
    for (let j = 0; j < cols; j++) {
      dW[r + j]! += g * x[xOff + j]!;
      if (dx) dx[dxOff + j]! += g * W[r + j]!;
    }
  }
}

/** Per-chunk landmark forward state, kept for backward. */
interface LandmarkCache {
  probs: Float64Array; // [heads, chunk]
  pooled: Float64Array; // [heads, dim]
  lmk: Float64Array; // [dim]
}

export interface SequenceResult {
  loss: number;
  /** Answer positions whose argmax was the target. */
  correct: number;
  /** Retrievals made for the answer chunks (for inspection). */
  retrievals: GcaRetrieval[];
}

export class DrtModel {
  readonly config: DrtConfig;
  readonly params: Float32Array;
  readonly #w: Views;
  readonly headDim: number;
  // Lower-layer tables, rebuilt by prepare(): q/k of every token id and the factorised softmax terms.
  #qtab: Float64Array;
  #ktab: Float64Array;
  #qke: Float64Array;
  #eb: Float64Array;
  #prepared = false;
  #bins: Float64Array;

  constructor(config: DrtConfig = DEFAULT_DRT_CONFIG, params?: Float32Array) {
    validateDrtConfig(config);
    this.config = { ...config, lookback: config.lookback ?? 0 };
    const n = paramCount(config);
    if (params && params.length !== n) throw new InputError(`DRT weights hold ${params.length} values, the config needs ${n}.`);
    this.params = params ?? new Float32Array(n);
    this.#w = views(this.params, config);
    this.headDim = config.dim / config.heads;
    const { vocab: V, dim: d, heads: H, window: W } = config;
    this.#qtab = new Float64Array(V * d);
    this.#ktab = new Float64Array(V * d);
    this.#qke = new Float64Array(H * V * V);
    this.#eb = new Float64Array(H * W);
    this.#bins = new Float64Array(V);
  }

  /** Seeded initialisation (normal, scaled by 1 / sqrt(fan-in)). */
  static init(config: DrtConfig = DEFAULT_DRT_CONFIG, seed = 1): DrtModel {
    const m = new DrtModel(config);
    const rng = new SeededRandom(seed);
    const d = config.dim;
    const fill = (a: Float32Array, std: number): void => {
      for (let i = 0; i < a.length; i++) a[i] = rng.normal() * std;
    };
    const w = m.#w;
    fill(w.E, 1);
    fill(w.Ev, 1);
    for (const name of ['Wq', 'Wk', 'Wo', 'Wvl', 'Wrq', 'Wrk', 'Wq2', 'Wk2', 'Wv2', 'Wo2', 'Wout'] as const) fill(w[name], 1 / Math.sqrt(d));
    fill(w.lu, 1 / Math.sqrt(d));
    m.invalidate();
    return m;
  }

  /** Named views into `params` (writing to them changes the model; call `invalidate()` after). */
  get weights(): Readonly<Views> {
    return this.#w;
  }

  /** Marks the lower-layer tables stale (after any change to `params`). */
  invalidate(): void {
    this.#prepared = false;
  }

  #prepare(): void {
    if (this.#prepared) return;
    const { vocab: V, dim: d, heads: H, window: W } = this.config;
    const dh = this.headDim;
    const w = this.#w;
    this.#qtab.fill(0);
    this.#ktab.fill(0);
    for (let v = 0; v < V; v++) {
      matVecAdd(w.Wq, w.E, v * d, d, d, this.#qtab, v * d);
      matVecAdd(w.Wk, w.E, v * d, d, d, this.#ktab, v * d);
    }
    const scale = 1 / Math.sqrt(dh);
    const row = new Float64Array(V);
    for (let h = 0; h < H; h++) {
      for (let a = 0; a < V; a++) {
        let max = -Infinity;
        for (let b = 0; b < V; b++) {
          let s = 0;
          for (let i = 0; i < dh; i++) s += this.#qtab[a * d + h * dh + i]! * this.#ktab[b * d + h * dh + i]!;
          row[b] = s * scale;
          if (row[b]! > max) max = row[b]!;
        }
        for (let b = 0; b < V; b++) this.#qke[(h * V + a) * V + b] = Math.exp(row[b]! - max);
      }
      let max = -Infinity;
      for (let o = 0; o < W; o++) max = Math.max(max, w.B[h * W + o]!);
      for (let o = 0; o < W; o++) this.#eb[h * W + o] = Math.exp(w.B[h * W + o]! - max);
    }
    this.#prepared = true;
  }

  /**
   * Lower-layer attention of position t: a [dim] (and the probabilities [heads, window] by offset
   * when `probs` is given). softmax(qk + B) = exp(qk - max) exp(B - max) / sum, so the
   * exponentials come from per-step tables.
   */
  #lowerAttend(tokens: Uint8Array, t: number, a: Float64Array, probs: Float64Array | null, exact = false): void {
    const { vocab: V, dim: d, heads: H, window: W } = this.config;
    const dh = this.headDim;
    const Ev = this.#w.Ev;
    const qke = this.#qke;
    const eb = this.#eb;
    const tok = tokens[t]!;
    const lo = Math.max(0, t - W + 1);
    a.fill(0);
    const Rv = this.config.relValues ? this.#w.Rv : null;
    if (!probs && !exact) {
      // Forward only: softmax weights per token id go to bins (values depend on the id only),
      // relative value embeddings are summed on the way; dh = 8 is unrolled.
      const bins = this.#bins;
      for (let h = 0; h < H; h++) {
        bins.fill(0);
        const bo = h * W;
        const row = (h * V + tok) * V;
        const ao = h * dh;
        let sum = 0;
        if (dh === 8) {
          let r0 = 0,
            r1 = 0,
            r2 = 0,
            r3 = 0,
            r4 = 0,
            r5 = 0,
            r6 = 0,
            r7 = 0;
          for (let s = t, o = 0; s >= lo; s--, o++) {
            const ts = tokens[s]!;
            const p = qke[row + ts]! * eb[bo + o]!;
            sum += p;
            bins[ts]! += p;
            if (Rv) {
              const ro = (bo + o) * 8;
              r0 += p * Rv[ro]!;
              r1 += p * Rv[ro + 1]!;
              r2 += p * Rv[ro + 2]!;
              r3 += p * Rv[ro + 3]!;
              r4 += p * Rv[ro + 4]!;
              r5 += p * Rv[ro + 5]!;
              r6 += p * Rv[ro + 6]!;
              r7 += p * Rv[ro + 7]!;
            }
          }
          for (let v = 0; v < V; v++) {
            const b = bins[v]!;
            if (b === 0) continue;
            const eo = v * d + ao;
            r0 += b * Ev[eo]!;
            r1 += b * Ev[eo + 1]!;
            r2 += b * Ev[eo + 2]!;
            r3 += b * Ev[eo + 3]!;
            r4 += b * Ev[eo + 4]!;
            r5 += b * Ev[eo + 5]!;
            r6 += b * Ev[eo + 6]!;
            r7 += b * Ev[eo + 7]!;
          }
          const inv = 1 / sum;
          a[ao] = r0 * inv;
          a[ao + 1] = r1 * inv;
          a[ao + 2] = r2 * inv;
          a[ao + 3] = r3 * inv;
          a[ao + 4] = r4 * inv;
          a[ao + 5] = r5 * inv;
          a[ao + 6] = r6 * inv;
          a[ao + 7] = r7 * inv;
          continue;
        }
        for (let s = t, o = 0; s >= lo; s--, o++) {
          const ts = tokens[s]!;
          const p = qke[row + ts]! * eb[bo + o]!;
          sum += p;
          bins[ts]! += p;
          if (Rv) {
            const ro = (bo + o) * dh;
            for (let i = 0; i < dh; i++) a[ao + i]! += p * Rv[ro + i]!;
          }
        }
        for (let v = 0; v < V; v++) {
          const b = bins[v]!;
          if (b === 0) continue;
          const eo = v * d + ao;
          for (let i = 0; i < dh; i++) a[ao + i]! += b * Ev[eo + i]!;
        }
        const inv = 1 / sum;
        for (let i = 0; i < dh; i++) a[ao + i]! *= inv;
      }
      return;
    }
    for (let h = 0; h < H; h++) {
      const row = (h * V + tok) * V;
      const bo = h * W;
      const ao = h * dh;
      let sum = 0;
      for (let s = t, o = 0; s >= lo; s--, o++) {
        const ts = tokens[s]!;
        const p = qke[row + ts]! * eb[bo + o]!;
        sum += p;
        if (probs) probs[bo + o] = p;
        const eo = ts * d + ao;
        for (let i = 0; i < dh; i++) a[ao + i]! += p * Ev[eo + i]!;
        if (Rv) {
          const ro = (bo + o) * dh;
          for (let i = 0; i < dh; i++) a[ao + i]! += p * Rv[ro + i]!;
        }
      }
      const inv = 1 / sum;
      for (let i = 0; i < dh; i++) a[ao + i]! *= inv;
      if (probs) for (let o = 0; o <= t - lo; o++) probs[bo + o]! *= inv;
    }
  }

  /**
   * Lower-layer outputs x[t] for t in [start, end), written to out[(t - outBase) * dim].
   * `exact` = the reference kernel (one pass per offset, the summation order training uses, so
   * trained weights reproduce bit for bit); the default fast kernel sums per token id and
   * differs from it only by float rounding.
   */
  lowerForward(tokens: Uint8Array, start: number, end: number, out: Float32Array, outBase = start, exact = false): void {
    this.#prepare();
    const d = this.config.dim;
    const { E, Wo } = this.#w;
    const a = new Float64Array(d);
    for (let t = start; t < end; t++) {
      const tok = tokens[t]!;
      if (tok >= this.config.vocab) throw new InputError(`Token id ${tok} at position ${t} is outside the vocabulary (${this.config.vocab}).`);
      this.#lowerAttend(tokens, t, a, null, exact);
      const o = (t - outBase) * d;
      for (let i = 0; i < d; i++) {
        let s = E[tok * d + i]!;
        const r = i * d;
        for (let j = 0; j < d; j++) s += Wo[r + j]! * a[j]!;
        out[o + i] = s;
      }
    }
  }

  /** Backward of x[t] given dx; accumulates into g (and dQK for the tables). */
  #lowerBackward(tokens: Uint8Array, t: number, dx: Float32Array, dxOff: number, g: Views, dqk: Float64Array, scratch: { a: Float64Array; da: Float64Array; probs: Float64Array }): void {
    const { vocab: V, dim: d, heads: H, window: W } = this.config;
    const dh = this.headDim;
    const w = this.#w;
    const { a, da, probs } = scratch;
    this.#lowerAttend(tokens, t, a, probs);
    const tok = tokens[t]!;
    for (let i = 0; i < d; i++) g.E[tok * d + i]! += dx[dxOff + i]!;
    da.fill(0);
    matVecBackward(w.Wo, g.Wo, a, 0, d, d, dx, dxOff, da, 0);
    const lo = Math.max(0, t - W + 1);
    const n = t - lo + 1;
    const dp = new Float64Array(n);
    for (let h = 0; h < H; h++) {
      const bo = h * W;
      const ao = h * dh;
      let dot = 0;
      for (let o = 0; o < n; o++) {
        const eo = tokens[t - o]! * d + ao;
        let s = 0;
        for (let i = 0; i < dh; i++) s += da[ao + i]! * w.Ev[eo + i]!;
        const p = probs[bo + o]!;
        if (this.config.relValues) {
          const ro = (bo + o) * dh;
          for (let i = 0; i < dh; i++) {
            s += da[ao + i]! * w.Rv[ro + i]!;
            g.Rv[ro + i]! += p * da[ao + i]!;
          }
        }
        dp[o] = s;
        dot += p * s;
        for (let i = 0; i < dh; i++) g.Ev[eo + i]! += p * da[ao + i]!;
      }
      const row = (h * V + tok) * V;
      for (let o = 0; o < n; o++) {
        const gs = probs[bo + o]! * (dp[o]! - dot);
        g.B[bo + o]! += gs;
        dqk[row + tokens[t - o]!]! += gs;
      }
    }
  }

  /** Chains the accumulated score-table gradient dQK into Wq, Wk and E. */
  #lowerTablesBackward(dqk: Float64Array, g: Views): void {
    const { vocab: V, dim: d, heads: H } = this.config;
    const dh = this.headDim;
    const scale = 1 / Math.sqrt(dh);
    const dq = new Float64Array(V * d);
    const dk = new Float64Array(V * d);
    for (let h = 0; h < H; h++) {
      for (let a = 0; a < V; a++) {
        for (let b = 0; b < V; b++) {
          const gs = dqk[(h * V + a) * V + b]! * scale;
          if (gs === 0) continue;
          for (let i = 0; i < dh; i++) {
            dq[a * d + h * dh + i]! += gs * this.#ktab[b * d + h * dh + i]!;
            dk[b * d + h * dh + i]! += gs * this.#qtab[a * d + h * dh + i]!;
          }
        }
      }
    }
    const w = this.#w;
    for (let v = 0; v < V; v++) {
      matVecBackward(w.Wq, g.Wq, w.E, v * d, d, d, dq, v * d, g.E, v * d);
      matVecBackward(w.Wk, g.Wk, w.E, v * d, d, d, dk, v * d, g.E, v * d);
    }
  }

  /**
   * Chunk encoder: the landmark of the chunk whose token states start at x[xOff] attends to
   * those `chunk` states only. Writes its query row to lq[lOff] and key row to lk[lOff].
   */
  landmark(x: Float32Array, xOff: number, lq: Float32Array, lk: Float32Array, lOff: number, cache?: LandmarkCache): void {
    const { dim: d, heads: H, chunk: S, groups: G, relDim: R } = this.config;
    const dh = this.headDim;
    const w = this.#w;
    const probs = cache?.probs ?? new Float64Array(H * S);
    const pooled = cache?.pooled ?? new Float64Array(H * d);
    const lmk = cache?.lmk ?? new Float64Array(d);
    pooled.fill(0);
    lmk.fill(0);
    for (let h = 0; h < H; h++) {
      let max = -Infinity;
      for (let t = 0; t < S; t++) {
        let s = 0;
        const xo = xOff + t * d;
        for (let j = 0; j < d; j++) s += w.lu[h * d + j]! * x[xo + j]!;
        probs[h * S + t] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let t = 0; t < S; t++) sum += probs[h * S + t] = Math.exp(probs[h * S + t]! - max);
      for (let t = 0; t < S; t++) {
        const p = (probs[h * S + t]! /= sum);
        const xo = xOff + t * d;
        for (let j = 0; j < d; j++) pooled[h * d + j]! += p * x[xo + j]!;
      }
      for (let i = 0; i < dh; i++) {
        let s = 0;
        const r = (h * dh + i) * d;
        for (let j = 0; j < d; j++) s += w.Wvl[r + j]! * pooled[h * d + j]!;
        lmk[h * dh + i] = s;
      }
    }
    for (let r = 0; r < G * R; r++) {
      let sq = 0;
      let sk = 0;
      for (let i = 0; i < d; i++) {
        sq += w.Wrq[r * d + i]! * lmk[i]!;
        sk += w.Wrk[r * d + i]! * lmk[i]!;
      }
      lq[lOff + r] = sq;
      lk[lOff + r] = sk;
    }
  }

  #landmarkBackward(x: Float32Array, xOff: number, cache: LandmarkCache, dlq: Float32Array, dlk: Float32Array, lOff: number, g: Views, dx: Float32Array): void {
    const { dim: d, heads: H, chunk: S, groups: G, relDim: R } = this.config;
    const dh = this.headDim;
    const w = this.#w;
    const dlmk = new Float64Array(d);
    matVecBackward(w.Wrq, g.Wrq, cache.lmk, 0, G * R, d, dlq, lOff, dlmk, 0);
    matVecBackward(w.Wrk, g.Wrk, cache.lmk, 0, G * R, d, dlk, lOff, dlmk, 0);
    const dpooled = new Float64Array(d);
    const dp = new Float64Array(S);
    for (let h = 0; h < H; h++) {
      dpooled.fill(0);
      for (let i = 0; i < dh; i++) {
        const gi = dlmk[h * dh + i]!;
        const r = (h * dh + i) * d;
        for (let j = 0; j < d; j++) {
          g.Wvl[r + j]! += gi * cache.pooled[h * d + j]!;
          dpooled[j]! += gi * w.Wvl[r + j]!;
        }
      }
      let dot = 0;
      for (let t = 0; t < S; t++) {
        const xo = xOff + t * d;
        const p = cache.probs[h * S + t]!;
        let s = 0;
        for (let j = 0; j < d; j++) {
          s += dpooled[j]! * x[xo + j]!;
          dx[xo + j]! += p * dpooled[j]!;
        }
        dp[t] = s;
        dot += p * s;
      }
      for (let t = 0; t < S; t++) {
        const gs = cache.probs[h * S + t]! * (dp[t]! - dot);
        const xo = xOff + t * d;
        for (let j = 0; j < d; j++) {
          g.lu[h * d + j]! += gs * x[xo + j]!;
          dx[xo + j]! += gs * w.lu[h * d + j]!;
        }
      }
    }
  }

  /** Upper-layer keys and values of `n` token states starting at x[xOff]: [n, dim] each. */
  projectKV(x: Float32Array, xOff: number, n: number): ChunkKV {
    const d = this.config.dim;
    const k = new Float32Array(n * d);
    const v = new Float32Array(n * d);
    const w = this.#w;
    for (let t = 0; t < n; t++) {
      matVecAdd(w.Wk2, x, xOff + t * d, d, d, k, t * d);
      matVecAdd(w.Wv2, x, xOff + t * d, d, d, v, t * d);
    }
    return { k, v, length: n };
  }

  get gcaConfig(): GcaConfig {
    const c = this.config;
    return { heads: c.heads, headDim: this.headDim, groups: c.groups, relDim: c.relDim, topK: c.topK };
  }

  /**
   * Upper layer for answer positions, forward only: logits [P, vocab] for the positions whose
   * states are `xq` [P, dim], given the local keys/values (positions localStart.. of the
   * current and previous chunk), and, when `gca`, the chunk memory's landmarks and states.
   */
  upperForward(args: {
    xq: Float32Array;
    positions: Int32Array;
    local: ChunkKV;
    localStart: number;
    gca: { lq: Float32Array; lk: Float32Array; landmarks: number; kv(chunk: number): ChunkKV } | null;
  }): { logits: Float32Array; retrievals: GcaRetrieval[] } {
    const r = this.#upper(args.xq, args.positions, args.local, args.localStart, args.gca, undefined);
    return { logits: r.logits, retrievals: r.retrievals };
  }

  #upper(
    xq: Float32Array,
    positions: Int32Array,
    local: ChunkKV,
    localStart: number,
    gca: { lq: Float32Array; lk: Float32Array; landmarks: number; kv(chunk: number): ChunkKV } | null,
    gumbel: SeededRandom | undefined,
  ) {
    const { dim: d, heads: H, chunk: S, vocab: V } = this.config;
    const dh = this.headDim;
    const w = this.#w;
    const P = positions.length;
    const q = new Float32Array(P * d);
    const z = new Float32Array(P * d);
    const locProbs: Float32Array[] = [];
    const qChunk = new Int32Array(P);
    for (let p = 0; p < P; p++) {
      matVecAdd(w.Wq2, xq, p * d, d, d, q, p * d);
      const pos = positions[p]!;
      const c = Math.floor(pos / S);
      qChunk[p] = c;
      const lo = Math.max(0, (c - 1) * S) - localStart;
      const n = pos - localStart - lo + 1;
      if (lo < 0 || pos - localStart >= local.length) throw new InputError(`DRT: local keys do not cover position ${pos}.`);
      for (let h = 0; h < H; h++) {
        const probs = new Float32Array(n + 1);
        attendHead(q, p * d + h * dh, local.k.subarray(lo * d), local.v.subarray(lo * d), n, d, h * dh, dh, w.sinkLoc[h]!, probs, z, p * d + h * dh);
        locProbs.push(probs);
      }
    }
    let gcaOut: ReturnType<typeof gcaForward> | null = null;
    if (gca) {
      gcaOut = gcaForward({ q, qChunk, lq: gca.lq, lk: gca.lk, landmarks: gca.landmarks, kv: gca.kv, sink: w.sinkGca }, this.gcaConfig, gumbel ? { gumbel } : {});
      for (let i = 0; i < z.length; i++) z[i]! += gcaOut.out[i]!;
    }
    const y = new Float32Array(P * d);
    const logits = new Float32Array(P * V);
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < d; i++) y[p * d + i] = xq[p * d + i]!;
      matVecAdd(w.Wo2, z, p * d, d, d, y, p * d);
      for (let v = 0; v < V; v++) logits[p * V + v] = w.bout[v]!;
      matVecAdd(w.Wout, y, p * d, V, d, logits, p * V);
    }
    const retrievals = gcaOut ? [...gcaOut.cache.retrievals.values()].flat() : [];
    return { q, z, y, logits, locProbs, qChunk, gcaOut, retrievals };
  }

  /**
   * One training sequence: forward over all tokens, cross-entropy on `targets` at the last
   * `targets.length` positions, backward into `grad` (same layout as `params`), scaled by
   * `lossScale`. Only the answer positions run the upper layer (the loss lives there), so the
   * backward pass touches the answer chunk, its predecessor, the retrieved chunks and their
   * landmarks. `dqk` accumulates the lower layer's score-table gradient: pass the same array
   * for a whole batch, then call `finishBackward(dqk, grad)` once.
   */
  sequenceGrad(tokens: Uint8Array, targets: Uint8Array, grad: Float32Array, dqk: Float64Array, options: { gca?: boolean; gumbel?: SeededRandom; lossScale?: number } = {}): SequenceResult {
    this.#prepare();
    const { dim: d, chunk: S, vocab: V, overlap, heads: H, window: W, groups: G, relDim: R } = this.config;
    const dh = this.headDim;
    const g = views(grad, this.config);
    const w = this.#w;
    const N = tokens.length;
    const P = targets.length;
    if (P < 1 || P > N) throw new InputError('DRT: need 1..N targets.');
    const useGca = options.gca ?? true;
    const scaleLoss = options.lossScale ?? 1;
    const x = new Float32Array(N * d);
    this.lowerForward(tokens, 0, N, x, 0, true);
    const nC = Math.floor(N / S);
    const rel = G * R;
    const lq = new Float32Array(nC * rel);
    const lk = new Float32Array(nC * rel);
    const lcache: LandmarkCache[] = [];
    if (useGca) {
      for (let c = 0; c < nC; c++) {
        const cache = { probs: new Float64Array(H * S), pooled: new Float64Array(H * d), lmk: new Float64Array(d) };
        this.landmark(x, c * S * d, lq, lk, c * rel, cache);
        lcache.push(cache);
      }
    }
    const positions = new Int32Array(P);
    for (let p = 0; p < P; p++) positions[p] = N - P + p;
    const xq = x.slice((N - P) * d, N * d);
    const localStart = Math.max(0, (Math.floor((N - P) / S) - 1) * S);
    const local = this.projectKV(x, localStart * d, N - localStart);
    // A retrieved chunk's keys/values: the previous chunk's last `lookback` states (none for
    // chunk 0), its own, and the next chunk's first `overlap` (what `answer` reads from memory).
    const back = this.config.lookback ?? 0;
    const kvStart = (j: number): number => j * S - (j > 0 ? back : 0);
    const kvLen = (j: number): number => Math.min(j * S + S + overlap, N) - kvStart(j);
    const gcaArgs = useGca ? { lq, lk, landmarks: nC, kv: (j: number) => this.projectKV(x, kvStart(j) * d, kvLen(j)) } : null;
    const f = this.#upper(xq, positions, local, localStart, gcaArgs, options.gumbel);
    // Loss and its gradient.
    let loss = 0;
    let correct = 0;
    const dlogits = new Float32Array(P * V);
    for (let p = 0; p < P; p++) {
      let max = -Infinity;
      let arg = 0;
      for (let v = 0; v < V; v++) {
        const l = f.logits[p * V + v]!;
        if (l > max) {
          max = l;
          arg = v;
        }
      }
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(f.logits[p * V + v]! - max);
      const target = targets[p]!;
      loss += -(f.logits[p * V + target]! - max - Math.log(sum));
      if (arg === target) correct++;
      for (let v = 0; v < V; v++) dlogits[p * V + v] = (Math.exp(f.logits[p * V + v]! - max) / sum - (v === target ? 1 : 0)) * scaleLoss;
    }
    // Backward through the head and Wo2.
    const dx = new Float32Array(N * d);
    const touched = new Uint8Array(N);
    const dz = new Float32Array(P * d);
    const dq = new Float32Array(P * d);
    for (let p = 0; p < P; p++) {
      const dy = new Float32Array(d);
      matVecBackward(w.Wout, g.Wout, f.y, p * d, V, d, dlogits, p * V, dy, 0);
      for (let v = 0; v < V; v++) g.bout[v]! += dlogits[p * V + v]!;
      const xo = (N - P + p) * d;
      for (let i = 0; i < d; i++) dx[xo + i]! += dy[i]!;
      matVecBackward(w.Wo2, g.Wo2, f.z, p * d, d, d, dy, 0, dz, p * d);
    }
    // Local attention backward.
    const dLocK = new Float32Array(local.k.length);
    const dLocV = new Float32Array(local.v.length);
    for (let p = 0; p < P; p++) {
      const pos = positions[p]!;
      const c = f.qChunk[p]!;
      const lo = Math.max(0, (c - 1) * S) - localStart;
      const n = pos - localStart - lo + 1;
      for (let h = 0; h < H; h++) {
        g.sinkLoc[h]! += attendHeadBackward(
          f.q,
          p * d + h * dh,
          local.k.subarray(lo * d),
          local.v.subarray(lo * d),
          n,
          d,
          h * dh,
          dh,
          true,
          f.locProbs[p * H + h]!,
          dz,
          p * d + h * dh,
          1,
          dq,
          p * d + h * dh,
          dLocK.subarray(lo * d),
          dLocV.subarray(lo * d),
        );
      }
    }
    const kvBackward = (start: number, n: number, dk: Float32Array, dv: Float32Array): void => {
      for (let t = 0; t < n; t++) {
        const xo = (start + t) * d;
        matVecBackward(w.Wk2, g.Wk2, x, xo, d, d, dk, t * d, dx, xo);
        matVecBackward(w.Wv2, g.Wv2, x, xo, d, d, dv, t * d, dx, xo);
        touched[start + t] = 1;
      }
    };
    kvBackward(localStart, N - localStart, dLocK, dLocV);
    if (f.gcaOut) {
      const gg = gcaBackward(f.gcaOut.cache, dz);
      for (let i = 0; i < dq.length; i++) dq[i]! += gg.dq[i]!;
      for (let h = 0; h < H; h++) g.sinkGca[h]! += gg.dsink[h]!;
      for (const [j, { dk, dv }] of gg.dkv) kvBackward(kvStart(j), kvLen(j), dk, dv);
      const chunks = new Set<number>();
      for (const r of f.retrievals) {
        chunks.add(r.chunk - 1);
        for (const j of r.chunks) chunks.add(j);
      }
      for (const c of chunks) {
        this.#landmarkBackward(x, c * S * d, lcache[c]!, gg.dlq, gg.dlk, c * rel, g, dx);
        for (let t = c * S; t < (c + 1) * S; t++) touched[t] = 1;
      }
    }
    for (let p = 0; p < P; p++) {
      const xo = (N - P + p) * d;
      matVecBackward(w.Wq2, g.Wq2, x, xo, d, d, dq, p * d, dx, xo);
      touched[N - P + p] = 1;
    }
    const scratch = { a: new Float64Array(d), da: new Float64Array(d), probs: new Float64Array(H * W) };
    for (let t = 0; t < N; t++) if (touched[t]) this.#lowerBackward(tokens, t, dx, t * d, g, dqk, scratch);
    return { loss, correct, retrievals: f.retrievals };
  }

  /** A zeroed score-table gradient accumulator for `sequenceGrad`. */
  newTableGrad(): Float64Array {
    const { vocab: V, heads: H } = this.config;
    return new Float64Array(H * V * V);
  }

  /** Finishes a batch's backward: chains the score-table gradient into Wq, Wk and E. */
  finishBackward(dqk: Float64Array, grad: Float32Array): void {
    this.#prepare();
    this.#lowerTablesBackward(dqk, views(grad, this.config));
  }
}
