import { InputError } from '@quarry/core';
import { SparseRows, type Param, type StaticModelConfig, type TrainCache, type TrainableModel } from './model.js';
import type { SeededRandom } from '@quarry/core';
import { SimdPooler } from './simd-pool.js';

/**
 * A static token-embedding model (like sentence-transformers' StaticEmbedding or
 * model2vec): token id -> row of an embedding table (through a mapping, so the table
 * can hold a pruned vocabulary), times an optional learned per-token weight; the text
 * vector is the mean over its tokens. Tokens without a row contribute zero (and still
 * count in the mean).
 */
export class StaticModel implements TrainableModel {
  readonly config: StaticModelConfig;
  readonly dim: number;
  /** Token id -> row, or -1. */
  readonly mapping: Int32Array;
  /** rows x dim. */
  readonly embeddings: Float32Array;
  /** One weight per row (all 1 unless learned). */
  readonly weights: Float32Array;
  /**
   * Optional extra weight per token id (not per row), applied on top of the row weight;
   * model2vec's vocabulary-quantised models need it (several tokens share a row but keep
   * their own weight). Not trained.
   */
  readonly tokenWeights: Float32Array | undefined;
  /** Term-frequency exponent p: a token occurring c times in a text weighs c^p in the mean (1 = plain mean). */
  readonly tf: number;
  readonly #embParam: Param;
  readonly #weightParam: Param | undefined;
  /** WebAssembly SIMD pooling for inference-only models; null once training starts or where unavailable. */
  #simd: SimdPooler | null | undefined;

  /** Set to false to keep every model on the plain JavaScript pooling loop. */
  static simd = true;

  constructor(config: StaticModelConfig, mapping: Int32Array, embeddings?: Float32Array, weights?: Float32Array, tokenWeights?: Float32Array) {
    if (mapping.length !== config.vocabSize) throw new InputError(`mapping has ${mapping.length} entries, expected vocabSize ${config.vocabSize}.`);
    this.config = config;
    this.dim = config.dim;
    this.mapping = mapping;
    this.embeddings = embeddings ?? new Float32Array(config.rows * config.dim);
    if (this.embeddings.length !== config.rows * config.dim) throw new InputError(`embeddings hold ${this.embeddings.length} values, expected rows*dim = ${config.rows * config.dim}.`);
    this.weights = weights ?? new Float32Array(config.rows).fill(1);
    if (this.weights.length !== config.rows) throw new InputError(`weights hold ${this.weights.length} values, expected one per row (${config.rows}).`);
    if (tokenWeights && tokenWeights.length !== config.vocabSize) throw new InputError(`tokenWeights hold ${tokenWeights.length} values, expected vocabSize ${config.vocabSize}.`);
    this.tokenWeights = tokenWeights;
    this.tf = config.tfExponent ?? 1;
    if (!(this.tf > 0 && this.tf <= 1)) throw new InputError(`tfExponent must be in (0, 1], got ${this.tf}.`);
    if (tokenWeights && this.tf !== 1) throw new InputError('tfExponent must be 1 for models with per-token weights (model2vec).');
    for (let i = 0; i < mapping.length; i++) {
      const r = mapping[i]!;
      if (r < -1 || r >= config.rows) throw new InputError(`mapping[${i}] = ${r} is outside -1..${config.rows - 1}.`);
    }
    this.#embParam = {
      name: 'embeddings',
      shape: [config.rows, config.dim],
      value: this.embeddings,
      grad: new Float32Array(0),
      sparse: new SparseRows(config.rows, config.dim),
    };
    this.#weightParam = config.learnWeights ? { name: 'weights', shape: [config.rows], value: this.weights, grad: new Float32Array(0), sparse: new SparseRows(config.rows, 1) } : undefined;
  }

  /** Gaussian init with std 1/sqrt(dim) (rows unit-length on average). */
  static random(config: StaticModelConfig, mapping: Int32Array, rng: SeededRandom): StaticModel {
    const emb = new Float32Array(config.rows * config.dim);
    const std = 1 / Math.sqrt(config.dim);
    for (let i = 0; i < emb.length; i++) emb[i] = rng.normal() * std;
    return new StaticModel(config, mapping, emb);
  }

  params(): Param[] {
    this.#simd = null; // the SIMD copy of the table would go stale once training updates it
    // Gradient buffers are allocated on first use so inference-only models stay small.
    if (this.#embParam.grad.length === 0) this.#embParam.grad = new Float32Array(this.embeddings.length);
    if (this.#weightParam && this.#weightParam.grad.length === 0) this.#weightParam.grad = new Float32Array(this.weights.length);
    return this.#weightParam ? [this.#embParam, this.#weightParam] : [this.#embParam];
  }

  /**
   * Copies the table into WebAssembly memory for SIMD pooling now (it otherwise happens on
   * the first `pool`); loaders call it so that the copy is part of loading, not encoding.
   */
  prepare(): void {
    if (this.#simd === undefined) this.#simd = StaticModel.simd ? (SimdPooler.create(this.embeddings, this.dim) ?? null) : null;
  }

  pool(ids: Int32Array, out: Float32Array, offset: number): void {
    const d = this.dim;
    if (this.#simd === undefined) this.prepare();
    if (this.#simd) {
      this.#poolSimd(this.#simd, ids, out, offset);
      return;
    }
    const acc = new Float64Array(d);
    this.#sum(ids, acc);
    const inv = ids.length > 0 ? 1 / ids.length : 0;
    for (let j = 0; j < d; j++) out[offset + j] = acc[j]! * inv;
  }

  #poolSimd(simd: SimdPooler, ids: Int32Array, out: Float32Array, offset: number): void {
    const W = this.weights;
    const tf = this.tf;
    const nt = this.#fillBag(ids);
    const bag = this.#bag!;
    const touched = this.#touched!;
    simd.reset();
    const rows = simd.rows;
    const weights = simd.weights;
    for (let start = 0; start < nt; start += simd.capacity) {
      const n = Math.min(simd.capacity, nt - start);
      for (let k = 0; k < n; k++) {
        const r = touched[start + k]!;
        const c = bag[r]!;
        bag[r] = 0;
        rows[k] = r;
        weights[k] = W[r]! * (tf === 1 ? c : c ** tf);
      }
      simd.run(n);
    }
    const inv = ids.length > 0 ? 1 / ids.length : 0;
    const acc = simd.result;
    for (let j = 0; j < this.dim; j++) out[offset + j] = acc[j]! * inv;
  }

  /** Sum over tokens of weight * row (no division). */
  sumInto(ids: Int32Array, acc: Float64Array): void {
    this.#sum(ids, acc);
  }

  /** Per-row occurrence weight and the rows touched by the current text (reused scratch). */
  #bag: Float64Array | undefined;
  #touched: Int32Array | undefined;

  /**
   * Counts the text's tokens per embedding row into the scratch bag (weighted by the learned
   * token weights) and lists the distinct rows in `#touched`; returns how many. Callers reset
   * each bag entry they read, so the scratch is clean for the next text.
   */
  #fillBag(ids: Int32Array): number {
    const map = this.mapping;
    const vocab = map.length;
    const TW = this.tokenWeights;
    const bag = (this.#bag ??= new Float64Array(this.config.rows));
    let touched = this.#touched;
    if (!touched || touched.length < ids.length) touched = this.#touched = new Int32Array(Math.max(ids.length, 512));
    let nt = 0;
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t]!;
      const r = id >= 0 && id < vocab ? map[id]! : -1;
      if (r < 0) continue;
      if (bag[r] === 0) touched[nt++] = r;
      bag[r]! += TW ? TW[id]! : 1;
    }
    return nt;
  }

  /**
   * acc += sum over tokens of weight * row. Tokens are first gathered into a bag of rows
   * (a text repeats many tokens), then each distinct row is added once, 8 lanes at a time.
   */
  #sum(ids: Int32Array, acc: Float64Array): void {
    const d = this.dim;
    const E = this.embeddings;
    const W = this.weights;
    const tf = this.tf;
    const nt = this.#fillBag(ids);
    const bag = this.#bag!;
    const touched = this.#touched!;
    const d8 = d - (d % 8);
    for (let k = 0; k < nt; k++) {
      const r = touched[k]!;
      const c = bag[r]!;
      const w = W[r]! * (tf === 1 ? c : c ** tf);
      bag[r] = 0;
      const base = r * d;
      let j = 0;
      for (; j < d8; j += 8) {
        const b = base + j;
        acc[j]! += w * E[b]!;
        acc[j + 1]! += w * E[b + 1]!;
        acc[j + 2]! += w * E[b + 2]!;
        acc[j + 3]! += w * E[b + 3]!;
        acc[j + 4]! += w * E[b + 4]!;
        acc[j + 5]! += w * E[b + 5]!;
        acc[j + 6]! += w * E[b + 6]!;
        acc[j + 7]! += w * E[b + 7]!;
      }
      for (; j < d; j++) acc[j]! += w * E[base + j]!;
    }
  }

  /** Row of each token (-1 = none) and, for tf < 1, each token's factor c^(tf-1) (c = its count in the text). */
  rowsAndFactors(ids: Int32Array): { rows: Int32Array; factors: Float64Array | undefined } {
    const map = this.mapping;
    const rows = new Int32Array(ids.length);
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t]!;
      rows[t] = id >= 0 && id < map.length ? map[id]! : -1;
    }
    if (this.tf === 1) return { rows, factors: undefined };
    const counts = new Map<number, number>();
    for (const r of rows) if (r >= 0) counts.set(r, (counts.get(r) ?? 0) + 1);
    const factors = new Float64Array(ids.length);
    for (let t = 0; t < ids.length; t++) if (rows[t]! >= 0) factors[t] = counts.get(rows[t]!)! ** (this.tf - 1);
    return { rows, factors };
  }

  /** x_t = weight * c^(tf-1) * E[row]: the token vectors whose mean is the text vector. */
  tokens(ids: Int32Array): Float32Array {
    const d = this.dim;
    const out = new Float32Array(ids.length * d);
    const { rows, factors } = this.rowsAndFactors(ids);
    for (let t = 0; t < ids.length; t++) {
      const r = rows[t]!;
      if (r < 0) continue;
      let w = this.tokenWeights ? this.weights[r]! * this.tokenWeights[ids[t]!]! : this.weights[r]!;
      if (factors) w *= factors[t]!;
      const base = r * d;
      for (let j = 0; j < d; j++) out[t * d + j] = w * this.embeddings[base + j]!;
    }
    return out;
  }

  forwardTrain(ids: Int32Array): TrainCache {
    const pooled = new Float64Array(this.dim);
    this.#sum(ids, pooled);
    if (ids.length > 0) for (let j = 0; j < this.dim; j++) pooled[j]! /= ids.length;
    return { ids, pooled };
  }

  backward(cache: TrainCache, gradPooled: Float64Array): void {
    const ids = cache.ids;
    const n = ids.length;
    if (n === 0) return;
    // pooled = (1/n) sum over distinct rows r of W_r c_r^tf E_r.
    const [emb, wp] = this.params();
    const d = this.dim;
    const E = this.embeddings;
    const W = this.weights;
    const gE = emb!.grad;
    const counts = new Map<number, number>();
    const map = this.mapping;
    for (let t = 0; t < n; t++) {
      const id = ids[t]!;
      const r = id >= 0 && id < map.length ? map[id]! : -1;
      if (r >= 0) counts.set(r, (counts.get(r) ?? 0) + 1);
    }
    for (const [r, c] of counts) {
      const coef = (this.tf === 1 ? c : c ** this.tf) / n;
      const base = r * d;
      const w = W[r]! * coef;
      emb!.sparse!.mark(r);
      for (let j = 0; j < d; j++) gE[base + j]! += w * gradPooled[j]!;
      if (wp) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += E[base + j]! * gradPooled[j]!;
        wp.grad[r]! += coef * dot;
        wp.sparse!.mark(r);
      }
    }
  }

  forwardTokens(ids: Int32Array): { cache: TrainCache; tokens: Float32Array } {
    return { cache: { ids, pooled: new Float64Array(0) }, tokens: this.tokens(ids) };
  }

  backwardTokens(cache: TrainCache, gradTokens: Float64Array): void {
    this.backwardTokenGrads(cache.ids, gradTokens);
  }

  /** Per-token gradient: d(loss)/d(x_t) given row-wise in `gx` (n x dim). */
  backwardTokenGrads(ids: Int32Array, gx: Float64Array): void {
    const [emb, wp] = this.params();
    const d = this.dim;
    const { rows, factors } = this.rowsAndFactors(ids);
    for (let t = 0; t < ids.length; t++) {
      const r = rows[t]!;
      if (r < 0) continue;
      const base = r * d;
      const f = factors ? factors[t]! : 1;
      const w = this.weights[r]! * f;
      emb!.sparse!.mark(r);
      let dot = 0;
      for (let j = 0; j < d; j++) {
        const g = gx[t * d + j]!;
        emb!.grad[base + j]! += w * g;
        dot += this.embeddings[base + j]! * g;
      }
      if (wp) {
        wp.grad[r]! += f * dot;
        wp.sparse!.mark(r);
      }
    }
  }
}
