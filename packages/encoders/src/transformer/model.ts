import * as ort from 'onnxruntime-node';
import { InputError, SeededRandom } from '@quarry/core';
import { SparseRows, type Param } from '../model.js';
import type { StaticModel } from '../static-model.js';
import { buildEncoderGraphs, denseParamShapes, gradName, type Precision, type TransformerSize } from './graph.js';

/** A BERT-style encoder's configuration (sizes plus vocabulary and positions). */
export interface TransformerConfig extends TransformerSize {
  vocabSize: number;
  /** Position embeddings (the longest input, special tokens included). */
  maxPositions: number;
  /** Token-type (segment) embeddings; BERT: 2. */
  typeVocabSize: number;
}

export interface TransformerInitOptions {
  seed: number;
  /**
   * Warm start from a static model (e.g. scifact-static): token row t = weight(t) x E[mapping[t]]
   * (0 for unmapped and special tokens), position and type embeddings 0, and the residual
   * output projections (attention Wo, FFN W2 and their biases) 0, so that the fresh encoder's
   * mean-pooled output is the static model's mean with term-frequency exponent 1.
   */
  fromStatic?: StaticModel;
  /** Standard deviation of the random weights (BERT: 0.02). */
  initStd?: number;
}

export const DEFAULT_SIZE: TransformerSize = { hidden: 256, layers: 2, heads: 4, intermediate: 1024, colbertDim: 128, layerNormEps: 1e-12 };

/**
 * Token ids of bert-base-uncased's added special tokens [PAD] [CLS] [SEP] [MASK], zeroed in a
 * warm start ([UNK] stands for text, so it keeps the static model's row).
 */
export const BERT_SPECIAL_IDS = [0, 101, 102, 103] as const;

/**
 * Quarry's own BERT-style transformer encoder: token + position + token-type embeddings,
 * N pre-LN blocks (x += MHA(LN1(x)); x += W2 gelu(LN2(x) W1)) without a final LayerNorm,
 * mean pooling for the dense head and a linear projection for the ColBERT head. The
 * weights live in Float32Arrays; onnxruntime runs the forward and backward graphs.
 */
export class TransformerModel {
  readonly config: TransformerConfig;
  /** vocabSize x hidden. */
  readonly tok: Float32Array;
  /** maxPositions x hidden. */
  readonly pos: Float32Array;
  /** typeVocabSize x hidden. */
  readonly type: Float32Array;
  /** Every dense parameter by name (see denseParamShapes). */
  readonly dense: Map<string, Float32Array>;
  #params: Param[] | undefined;

  constructor(config: TransformerConfig, tensors?: { tok: Float32Array; pos: Float32Array; type: Float32Array; dense: Map<string, Float32Array> }) {
    checkConfig(config);
    this.config = config;
    const d = config.hidden;
    this.tok = tensors?.tok ?? new Float32Array(config.vocabSize * d);
    this.pos = tensors?.pos ?? new Float32Array(config.maxPositions * d);
    this.type = tensors?.type ?? new Float32Array(config.typeVocabSize * d);
    this.dense = new Map();
    for (const [name, shape] of denseParamShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const given = tensors?.dense.get(name);
      if (given && given.length !== n) throw new InputError(`parameter ${name} holds ${given.length} values, expected ${n} ([${shape.join(', ')}]).`);
      this.dense.set(name, given ?? new Float32Array(n));
    }
    for (const [name, a, n] of [
      ['tok', this.tok, config.vocabSize * d],
      ['pos', this.pos, config.maxPositions * d],
      ['type', this.type, config.typeVocabSize * d],
    ] as const) {
      if (a.length !== n) throw new InputError(`embedding table ${name} holds ${a.length} values, expected ${n}.`);
    }
  }

  /** A seeded initialisation (random, or warm-started from a static model). */
  static init(config: TransformerConfig, options: TransformerInitOptions): TransformerModel {
    const m = new TransformerModel(config);
    const rng = new SeededRandom(options.seed);
    const std = options.initStd ?? 0.02;
    const normal = (a: Float32Array): void => {
      for (let i = 0; i < a.length; i++) a[i] = rng.normal() * std;
    };
    const d = config.hidden;
    const st = options.fromStatic;
    if (st) {
      if (st.dim !== d) throw new InputError(`the static model has dim ${st.dim}; the transformer's hidden size must match it (got ${d}).`);
      if (st.config.vocabSize !== config.vocabSize) throw new InputError(`the static model's vocabulary (${st.config.vocabSize}) differs from the transformer's (${config.vocabSize}).`);
      for (let t = 0; t < config.vocabSize; t++) {
        const r = st.mapping[t]!;
        if (r < 0) continue;
        const w = st.weights[r]! * (st.tokenWeights ? st.tokenWeights[t]! : 1);
        for (let j = 0; j < d; j++) m.tok[t * d + j] = w * st.embeddings[r * d + j]!;
      }
      for (const s of BERT_SPECIAL_IDS) if (s < config.vocabSize) m.tok.fill(0, s * d, (s + 1) * d);
    } else {
      normal(m.tok);
      normal(m.pos);
      normal(m.type);
    }
    for (const [name, a] of m.dense) {
      const kind = name.split('.').pop()!;
      if (kind.endsWith('_g')) a.fill(1);
      else if (kind.startsWith('b') || kind.endsWith('_b')) a.fill(0);
      else if (st && (kind === 'wo' || kind === 'w2')) a.fill(0);
      else normal(a);
    }
    return m;
  }

  /** Parameters for Adam: the token table is sparse (only rows in the batch are updated). */
  params(): Param[] {
    if (this.#params) return this.#params;
    const d = this.config.hidden;
    const ps: Param[] = [
      { name: 'emb.tok', shape: [this.config.vocabSize, d], value: this.tok, grad: new Float32Array(this.tok.length), sparse: new SparseRows(this.config.vocabSize, d) },
      { name: 'emb.pos', shape: [this.config.maxPositions, d], value: this.pos, grad: new Float32Array(this.pos.length) },
      { name: 'emb.type', shape: [this.config.typeVocabSize, d], value: this.type, grad: new Float32Array(this.type.length) },
    ];
    const shapes = denseParamShapes(this.config);
    for (const [name, value] of this.dense) ps.push({ name, shape: shapes.get(name)!, value, grad: new Float32Array(value.length) });
    this.#params = ps;
    return ps;
  }

  /** Parameter count (embeddings included). */
  parameterCount(): number {
    let n = this.tok.length + this.pos.length + this.type.length;
    for (const a of this.dense.values()) n += a.length;
    return n;
  }
}

function checkConfig(c: TransformerConfig): void {
  const ints: [string, number][] = [
    ['hidden', c.hidden],
    ['layers', c.layers],
    ['heads', c.heads],
    ['intermediate', c.intermediate],
    ['vocabSize', c.vocabSize],
    ['maxPositions', c.maxPositions],
    ['typeVocabSize', c.typeVocabSize],
  ];
  for (const [k, v] of ints) if (!Number.isInteger(v) || v < 1) throw new InputError(`transformer ${k} must be a positive integer, got ${v}.`);
  if (!Number.isInteger(c.colbertDim) || c.colbertDim < 0) throw new InputError(`transformer colbertDim must be a non-negative integer, got ${c.colbertDim}.`);
  if (c.hidden % c.heads !== 0) throw new InputError(`hidden (${c.hidden}) must be divisible by heads (${c.heads}).`);
  if (!(c.layerNormEps > 0)) throw new InputError(`layerNormEps must be > 0, got ${c.layerNormEps}.`);
}

/** A padded batch of token id sequences (no truncation here: callers cut to maxPositions). */
export interface IdBatch {
  B: number;
  L: number;
  /** B x L token ids (0 = padding). */
  ids: Int32Array;
  /** B x L, 1 = token. */
  mask: Uint8Array;
  lengths: number[];
}

export function padBatch(seqs: readonly Int32Array[]): IdBatch {
  const B = seqs.length;
  const L = Math.max(1, ...seqs.map((s) => s.length));
  const ids = new Int32Array(B * L);
  const mask = new Uint8Array(B * L);
  seqs.forEach((s, b) => {
    ids.set(s, b * L);
    mask.fill(1, b * L, b * L + s.length);
  });
  return { B, L, ids, mask, lengths: seqs.map((s) => s.length) };
}

type Floats = Float32Array | Float64Array;

/** The weights a runtime reads: the model's own Float32Arrays, or float64 copies for gradient checks. */
export interface TransformerWeights {
  tok: Floats;
  pos: Floats;
  type: Floats;
  dense: Map<string, Floats>;
}

export function weightsOf(model: TransformerModel, precision: Precision = 'float32'): TransformerWeights {
  if (precision === 'float32') return { tok: model.tok, pos: model.pos, type: model.type, dense: model.dense };
  const c = (a: Float32Array): Float64Array => Float64Array.from(a);
  return { tok: c(model.tok), pos: c(model.pos), type: c(model.type), dense: new Map([...model.dense].map(([k, v]) => [k, c(v)])) };
}

export interface ForwardResult {
  batch: IdBatch;
  /** B x L x d. */
  hidden: Floats;
  /** B x d (mean over tokens, not normalised). */
  pooled: Floats;
  /** B x L x c, when the model has a ColBERT head. */
  colbert: Floats | undefined;
  /** The forward values the backward pass reads (onnxruntime tensors). */
  saved: Record<string, ort.Tensor>;
  x0: ort.Tensor;
  maskTensor: ort.Tensor;
}

export interface Upstream {
  /** d loss / d pooled, B x d. */
  pooled?: Floats;
  /** d loss / d hidden, B x L x d. */
  hidden?: Floats;
  /** d loss / d colbert, B x L x c. */
  colbert?: Floats;
}

export interface Gradients {
  /** Dense parameter gradients by name. */
  dense: Map<string, Floats>;
  /** d loss / d x0 (the summed embeddings), B x L x d: scattered into the tables by accumulateGradients. */
  x0: Floats;
}

/**
 * Runs a TransformerModel's forward and backward graphs with onnxruntime (one session each,
 * built once per size and precision). `threads` fixes intra-op threads, which also fixes
 * the results bit for bit.
 */
export class TransformerRuntime {
  readonly precision: Precision;
  readonly size: TransformerConfig;
  readonly #forward: ort.InferenceSession;
  readonly #backward: ort.InferenceSession | undefined;
  readonly #saved: readonly string[];

  private constructor(size: TransformerConfig, precision: Precision, forward: ort.InferenceSession, backward: ort.InferenceSession | undefined, saved: readonly string[]) {
    this.size = size;
    this.precision = precision;
    this.#forward = forward;
    this.#backward = backward;
    this.#saved = saved;
  }

  static async create(config: TransformerConfig, options: { precision?: Precision; training?: boolean; threads?: number } = {}): Promise<TransformerRuntime> {
    const precision = options.precision ?? 'float32';
    const training = options.training ?? true;
    const graphs = buildEncoderGraphs(config, precision, training);
    const opts: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    const forward = await ort.InferenceSession.create(graphs.forward, opts);
    const backward = graphs.backward ? await ort.InferenceSession.create(graphs.backward, opts) : undefined;
    return new TransformerRuntime(config, precision, forward, backward, graphs.saved);
  }

  #tensor(data: Floats | Uint8Array, dims: number[]): ort.Tensor {
    return new ort.Tensor(this.precision, data as Float32Array, dims);
  }

  /** `data` in this runtime's element type (upstream gradients come as float64 from the losses). */
  #as(data: Floats): Floats {
    if (this.precision === 'float32') return data instanceof Float32Array ? data : Float32Array.from(data);
    return data instanceof Float64Array ? data : Float64Array.from(data);
  }

  #alloc(n: number): Floats {
    return this.precision === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }

  /** x0 = tok[id] + pos[l] + type[0] for every real token (0 on padding). */
  embed(w: TransformerWeights, batch: IdBatch): Floats {
    const d = this.size.hidden;
    const { B, L, ids, mask } = batch;
    const x0 = this.#alloc(B * L * d);
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < L; l++) {
        const at = b * L + l;
        if (!mask[at]) continue;
        if (l >= this.size.maxPositions) throw new InputError(`sequence of ${batch.lengths[b]} tokens is longer than maxPositions (${this.size.maxPositions}); truncate it first.`);
        const id = ids[at]!;
        if (id < 0 || id >= this.size.vocabSize) throw new InputError(`token id ${id} is outside the vocabulary (${this.size.vocabSize}).`);
        const o = at * d;
        const to = id * d;
        const po = l * d;
        for (let j = 0; j < d; j++) x0[o + j] = w.tok[to + j]! + w.pos[po + j]! + w.type[j]!;
      }
    }
    return x0;
  }

  #paramFeeds(w: TransformerWeights, names: readonly string[]): Record<string, ort.Tensor> {
    const shapes = denseParamShapes(this.size);
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of names) {
      const shape = shapes.get(name);
      if (shape) feeds[name] = this.#tensor(w.dense.get(name)!, shape);
    }
    return feeds;
  }

  async forward(w: TransformerWeights, batch: IdBatch): Promise<ForwardResult> {
    const { B, L } = batch;
    const d = this.size.hidden;
    const x0 = this.#tensor(this.embed(w, batch), [B, L, d]);
    const maskData = this.#alloc(B * L);
    for (let i = 0; i < B * L; i++) maskData[i] = batch.mask[i]!;
    const maskTensor = this.#tensor(maskData, [B, L]);
    const feeds = { x0, mask: maskTensor, ...this.#paramFeeds(w, this.#forward.inputNames) };
    const out = await this.#forward.run(feeds);
    const saved: Record<string, ort.Tensor> = {};
    for (const s of this.#saved) saved[s] = out[s]!;
    return {
      batch,
      hidden: out['hidden']!.data as Floats,
      pooled: out['pooled']!.data as Floats,
      colbert: this.size.colbertDim > 0 ? (out['colbert']!.data as Floats) : undefined,
      saved,
      x0,
      maskTensor,
    };
  }

  async backward(w: TransformerWeights, fw: ForwardResult, up: Upstream): Promise<Gradients> {
    if (!this.#backward) throw new InputError('this runtime was created with training: false.');
    const { B, L } = fw.batch;
    const d = this.size.hidden;
    const c = this.size.colbertDim;
    const feeds: Record<string, ort.Tensor> = { ...this.#paramFeeds(w, this.#backward.inputNames) };
    const names = new Set(this.#backward.inputNames);
    for (const [k, v] of Object.entries(fw.saved)) if (names.has(k)) feeds[k] = v;
    if (names.has('x0')) feeds['x0'] = fw.x0;
    if (names.has('mask')) feeds['mask'] = fw.maskTensor;
    feeds['d_hidden'] = this.#tensor(up.hidden ? this.#as(up.hidden) : this.#alloc(B * L * d), [B, L, d]);
    feeds['d_pooled'] = this.#tensor(up.pooled ? this.#as(up.pooled) : this.#alloc(B * d), [B, d]);
    if (c > 0) feeds['d_colbert'] = this.#tensor(up.colbert ? this.#as(up.colbert) : this.#alloc(B * L * c), [B, L, c]);
    const out = await this.#backward.run(feeds);
    const dense = new Map<string, Floats>();
    for (const name of denseParamShapes(this.size).keys()) dense.set(name, out[gradName(name)]!.data as Floats);
    return { dense, x0: out[gradName('x0')]!.data as Floats };
  }
}

/**
 * Adds a batch's gradients into the model's Param gradients: dense ones directly, the
 * embedding-output gradient scattered into the token rows (sparse), positions and type 0.
 */
export function accumulateGradients(params: readonly Param[], batch: IdBatch, grads: Gradients, hidden: number): void {
  const byName = new Map(params.map((p) => [p.name, p]));
  for (const [name, g] of grads.dense) {
    const p = byName.get(name)!.grad;
    for (let i = 0; i < g.length; i++) p[i]! += g[i]!;
  }
  const tok = byName.get('emb.tok')!;
  const pos = byName.get('emb.pos')!.grad;
  const type = byName.get('emb.type')!.grad;
  const d = hidden;
  const { B, L, ids, mask } = batch;
  const gx = grads.x0;
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      const at = b * L + l;
      if (!mask[at]) continue;
      const id = ids[at]!;
      tok.sparse!.mark(id);
      const o = at * d;
      const to = id * d;
      const po = l * d;
      for (let j = 0; j < d; j++) {
        const v = gx[o + j]!;
        tok.grad[to + j]! += v;
        pos[po + j]! += v;
        type[j]! += v;
      }
    }
  }
}
