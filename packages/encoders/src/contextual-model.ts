import { InputError } from '@quarry/core';
import type { ContextualModelConfig, Param, TrainCache, TrainableModel } from './model.js';
import type { SeededRandom } from '@quarry/core';
import type { StaticModel } from './static-model.js';

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** tanh-approximated GELU (the form ONNX graphs below opset 20 can express exactly). */
export function gelu(a: number): number {
  return 0.5 * a * (1 + Math.tanh(GELU_C * (a + GELU_A * a * a * a)));
}

export function geluGrad(a: number): number {
  const t = Math.tanh(GELU_C * (a + GELU_A * a * a * a));
  return 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * a * a);
}

interface ContextualCache extends TrainCache {
  /** n x h projections, pre-activations. */
  p: Float64Array;
  a: Float64Array;
  x: Float64Array;
}

/**
 * A small contextual encoder on top of the static token embeddings: a residual 1D
 * convolution block in a narrow hidden space,
 *
 *   x_t = w_t * E[token_t]                      (the static token vector)
 *   p_t = P x_t                                 (project to `hidden` dims)
 *   a_t = b + sum_k W_k p_{t+k-c}               (conv over neighbours, zero padded)
 *   h_t = x_t + Q gelu(a_t)                     (back to `dim`, residual)
 *
 * Token vectors are h_t; the text vector is their mean. The block lets a token's vector
 * depend on its neighbours (phrases, negation, repetition), which static vectors cannot.
 * Q starts at zero, so a fresh block reproduces the static model exactly.
 */
export class ContextualModel implements TrainableModel {
  readonly config: ContextualModelConfig;
  readonly dim: number;
  readonly base: StaticModel;
  /** hidden x dim. */
  readonly P: Float32Array;
  /** kernel x hidden x hidden (W_k row-major). */
  readonly W: Float32Array;
  readonly b: Float32Array;
  /** dim x hidden. */
  readonly Q: Float32Array;
  /** When false, backward skips the static embeddings (only the block learns). */
  trainBase = true;
  readonly #params: Param[];

  constructor(config: ContextualModelConfig, base: StaticModel, tensors?: { P: Float32Array; W: Float32Array; b: Float32Array; Q: Float32Array }) {
    if (config.kernel % 2 !== 1) throw new InputError(`contextual kernel must be odd, got ${config.kernel}.`);
    if (base.dim !== config.dim) throw new InputError(`static base has dim ${base.dim}, config says ${config.dim}.`);
    this.config = config;
    this.dim = config.dim;
    this.base = base;
    const { dim: d, hidden: h, kernel: k } = config;
    this.P = tensors?.P ?? new Float32Array(h * d);
    this.W = tensors?.W ?? new Float32Array(k * h * h);
    this.b = tensors?.b ?? new Float32Array(h);
    this.Q = tensors?.Q ?? new Float32Array(d * h);
    const expect: [string, Float32Array, number][] = [
      ['P', this.P, h * d],
      ['W', this.W, k * h * h],
      ['b', this.b, h],
      ['Q', this.Q, d * h],
    ];
    for (const [name, arr, n] of expect) if (arr.length !== n) throw new InputError(`contextual tensor ${name} holds ${arr.length} values, expected ${n}.`);
    this.#params = [
      { name: 'conv.P', shape: [h, d], value: this.P, grad: new Float32Array(0) },
      { name: 'conv.W', shape: [k, h, h], value: this.W, grad: new Float32Array(0) },
      { name: 'conv.b', shape: [h], value: this.b, grad: new Float32Array(0) },
      { name: 'conv.Q', shape: [d, h], value: this.Q, grad: new Float32Array(0) },
    ];
  }

  /** A fresh block over `base`: P and W random (scaled), b = 0, Q = 0. */
  static init(base: StaticModel, hidden: number, kernel: number, rng: SeededRandom): ContextualModel {
    const d = base.dim;
    const config: ContextualModelConfig = { ...base.config, type: 'contextual', hidden, kernel };
    const m = new ContextualModel(config, base);
    // Scale P so that projections start at unit size whatever the base's row norms are.
    let norm = 0;
    let count = 0;
    for (let r = 0; r < base.config.rows; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (base.weights[r]! * base.embeddings[r * d + j]!) ** 2;
      if (s > 0) {
        norm += Math.sqrt(s);
        count++;
      }
    }
    const sp = count > 0 && norm > 0 ? count / norm : 1;
    const sw = 1 / Math.sqrt(hidden * kernel);
    for (let i = 0; i < m.P.length; i++) m.P[i] = rng.normal() * sp;
    for (let i = 0; i < m.W.length; i++) m.W[i] = rng.normal() * sw;
    return m;
  }

  get mapping(): Int32Array {
    return this.base.mapping;
  }

  params(): Param[] {
    for (const p of this.#params) if (p.grad.length === 0) p.grad = new Float32Array(p.value.length);
    return this.trainBase ? [...this.base.params(), ...this.#params] : [...this.#params];
  }

  /** Static vectors x (n x d), projections p (n x h) and pre-activations a (n x h). */
  #forward(ids: Int32Array): { x: Float64Array; p: Float64Array; a: Float64Array } {
    const { dim: d, hidden: h, kernel: k } = this.config;
    const n = ids.length;
    const x = new Float64Array(n * d);
    const E = this.base.embeddings;
    const Wt = this.base.weights;
    const { rows, factors } = this.base.rowsAndFactors(ids);
    for (let t = 0; t < n; t++) {
      const r = rows[t]!;
      if (r < 0) continue;
      const w = factors ? Wt[r]! * factors[t]! : Wt[r]!;
      for (let j = 0; j < d; j++) x[t * d + j] = w * E[r * d + j]!;
    }
    const p = new Float64Array(n * h);
    const P = this.P;
    for (let t = 0; t < n; t++) {
      const xo = t * d;
      for (let o = 0; o < h; o++) {
        let s = 0;
        const po = o * d;
        for (let j = 0; j < d; j++) s += P[po + j]! * x[xo + j]!;
        p[t * h + o] = s;
      }
    }
    const a = new Float64Array(n * h);
    const c = (k - 1) / 2;
    const W = this.W;
    for (let t = 0; t < n; t++) {
      for (let o = 0; o < h; o++) a[t * h + o] = this.b[o]!;
      for (let kk = 0; kk < k; kk++) {
        const src = t + kk - c;
        if (src < 0 || src >= n) continue;
        const wo = kk * h * h;
        for (let o = 0; o < h; o++) {
          let s = 0;
          for (let i = 0; i < h; i++) s += W[wo + o * h + i]! * p[src * h + i]!;
          a[t * h + o]! += s;
        }
      }
    }
    return { x, p, a };
  }

  pool(ids: Int32Array, out: Float32Array, offset: number): void {
    const cache = this.forwardTrain(ids);
    for (let j = 0; j < this.dim; j++) out[offset + j] = cache.pooled[j]!;
  }

  tokens(ids: Int32Array): Float32Array {
    const { x, a } = this.#forward(ids);
    return this.#outputs(x, a, ids.length);
  }

  forwardTrain(ids: Int32Array): ContextualCache {
    const { dim: d, hidden: h } = this.config;
    const n = ids.length;
    const { x, p, a } = this.#forward(ids);
    const pooled = new Float64Array(d);
    if (n === 0) return { ids, pooled, x, p, a };
    const zs = new Float64Array(h);
    for (let t = 0; t < n; t++) for (let o = 0; o < h; o++) zs[o]! += gelu(a[t * h + o]!);
    for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) pooled[j]! += x[t * d + j]!;
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let o = 0; o < h; o++) s += this.Q[j * h + o]! * zs[o]!;
      pooled[j] = (pooled[j]! + s) / n;
    }
    return { ids, pooled, x, p, a };
  }

  forwardTokens(ids: Int32Array): { cache: TrainCache; tokens: Float32Array } {
    const { x, p, a } = this.#forward(ids);
    return { cache: { ids, pooled: new Float64Array(0), x, p, a } as ContextualCache, tokens: this.#outputs(x, a, ids.length) };
  }

  /** h_t = x_t + Q gelu(a_t) for every token. */
  #outputs(x: Float64Array, a: Float64Array, n: number): Float32Array {
    const { dim: d, hidden: h } = this.config;
    const out = new Float32Array(n * d);
    const z = new Float64Array(h);
    for (let t = 0; t < n; t++) {
      for (let o = 0; o < h; o++) z[o] = gelu(a[t * h + o]!);
      for (let j = 0; j < d; j++) {
        let s = x[t * d + j]!;
        for (let o = 0; o < h; o++) s += this.Q[j * h + o]! * z[o]!;
        out[t * d + j] = s;
      }
    }
    return out;
  }

  /** The pooled vector is the mean of the token vectors, so its gradient reaches every token as g / n. */
  backward(cache: TrainCache, g: Float64Array): void {
    const n = cache.ids.length;
    if (n === 0) return;
    const d = this.config.dim;
    const gt = new Float64Array(n * d);
    for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) gt[t * d + j] = g[j]! / n;
    this.backwardTokens(cache, gt);
  }

  backwardTokens(cache: TrainCache, gt: Float64Array): void {
    const { ids, x, p, a } = cache as ContextualCache;
    const { dim: d, hidden: h, kernel: k } = this.config;
    const n = ids.length;
    if (n === 0) return;
    this.params();
    const [gP, gW, gb, gQ] = this.#params.map((q) => q.grad) as [Float32Array, Float32Array, Float32Array, Float32Array];
    // h_t = x_t + Q z_t, z_t = gelu(a_t):  dQ += g_t z_t^T ; da_t = (Q^T g_t) * gelu'(a_t).
    const da = new Float64Array(n * h);
    const z = new Float64Array(h);
    for (let t = 0; t < n; t++) {
      for (let o = 0; o < h; o++) z[o] = gelu(a[t * h + o]!);
      for (let j = 0; j < d; j++) {
        const gj = gt[t * d + j]!;
        if (gj === 0) continue;
        const row = j * h;
        for (let o = 0; o < h; o++) {
          gQ[row + o]! += gj * z[o]!;
          da[t * h + o]! += this.Q[row + o]! * gj;
        }
      }
      for (let o = 0; o < h; o++) da[t * h + o]! *= geluGrad(a[t * h + o]!);
    }
    // Conv: a_t = b + sum_k W_k p_{t+k-c}.
    const c = (k - 1) / 2;
    const dp = new Float64Array(n * h);
    for (let t = 0; t < n; t++) {
      for (let o = 0; o < h; o++) gb[o]! += da[t * h + o]!;
      for (let kk = 0; kk < k; kk++) {
        const src = t + kk - c;
        if (src < 0 || src >= n) continue;
        const wo = kk * h * h;
        for (let o = 0; o < h; o++) {
          const dao = da[t * h + o]!;
          if (dao === 0) continue;
          const row = wo + o * h;
          for (let i = 0; i < h; i++) {
            gW[row + i]! += dao * p[src * h + i]!;
            dp[src * h + i]! += dao * this.W[row + i]!;
          }
        }
      }
    }
    // p_t = P x_t  ->  dP += dp_t x_t^T ; dx_t = P^T dp_t + g_t (residual path).
    const train = this.trainBase;
    const gx = train ? Float64Array.from(gt) : undefined;
    for (let t = 0; t < n; t++) {
      for (let o = 0; o < h; o++) {
        const dpo = dp[t * h + o]!;
        if (dpo === 0) continue;
        const row = o * d;
        for (let j = 0; j < d; j++) gP[row + j]! += dpo * x[t * d + j]!;
        if (gx) for (let j = 0; j < d; j++) gx[t * d + j]! += dpo * this.P[row + j]!;
      }
    }
    if (gx) this.base.backwardTokenGrads(ids, gx);
  }
}
