import { DataType, GraphBuilder } from '../onnx-graph.js';

/** Element type of a transformer graph: float32 for training and serving, float64 for gradient checks. */
export type Precision = 'float32' | 'float64';

/** The size of a BERT-style encoder. */
export interface TransformerSize {
  /** Hidden width d (the embedding and residual-stream width). */
  hidden: number;
  /** Transformer blocks. */
  layers: number;
  /** Attention heads; hidden must be divisible by heads. */
  heads: number;
  /** FFN inner width (BERT: 4 x hidden). */
  intermediate: number;
  /** Width of the ColBERT token projection (0 = no ColBERT head). */
  colbertDim: number;
  /** LayerNorm epsilon (BERT: 1e-12). */
  layerNormEps: number;
}

/** Names of the per-layer parameter tensors, in a fixed order (checkpoints and Adam rely on it). */
export const LAYER_PARAMS = ['ln1_g', 'ln1_b', 'wqkv', 'bqkv', 'wo', 'bo', 'ln2_g', 'ln2_b', 'w1', 'b1', 'w2', 'b2'] as const;
export type LayerParam = (typeof LAYER_PARAMS)[number];

/** Shape of each dense (non-embedding) parameter. */
export function denseParamShapes(size: TransformerSize): Map<string, number[]> {
  const { hidden: d, intermediate: f, layers } = size;
  const shapes = new Map<string, number[]>();
  for (let l = 0; l < layers; l++) {
    const s: Record<LayerParam, number[]> = {
      ln1_g: [d],
      ln1_b: [d],
      wqkv: [d, 3 * d],
      bqkv: [3 * d],
      wo: [d, d],
      bo: [d],
      ln2_g: [d],
      ln2_b: [d],
      w1: [d, f],
      b1: [f],
      w2: [f, d],
      b2: [d],
    };
    for (const name of LAYER_PARAMS) shapes.set(`l${l}.${name}`, s[name]);
  }
  if (size.colbertDim > 0) shapes.set('colbert.w', [d, size.colbertDim]);
  return shapes;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/**
 * Builds the encoder's ONNX graphs from one description of each layer: the forward graph
 * (training forward, or the exported inference graph) and, for training, the backward
 * graph, whose operators are the hand-derived gradients of the forward ones. Values the
 * backward pass needs from the forward pass are "saved": outputs of the forward graph
 * and inputs of the backward graph, passed over as onnxruntime tensors without copying.
 */
export class EncoderGraphs {
  readonly f: GraphBuilder;
  readonly b: GraphBuilder | undefined;
  readonly type: typeof DataType.FLOAT | typeof DataType.DOUBLE;
  /** Forward values the backward graph reads (in the order they were first used). */
  readonly saved: string[] = [];
  readonly #savedSet = new Set<string>();
  readonly #bInputs = new Set<string>();
  #n = 0;

  /**
   * `constants`: parameter values to embed as initializers (the exported inference graph);
   * without it parameters are graph inputs, so training can change them between runs.
   */
  constructor(
    readonly size: TransformerSize,
    readonly precision: Precision,
    withBackward: boolean,
    readonly constants?: ReadonlyMap<string, Float32Array>,
  ) {
    this.type = precision === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
    this.f = new GraphBuilder('quarry-transformer');
    this.b = withBackward ? new GraphBuilder('quarry-transformer-backward') : undefined;
  }

  /** A fresh, readable value name. */
  name(prefix: string): string {
    return `${prefix}__${this.#n++}`;
  }

  /** A constant of the graph's element type (0-d or 1-d) in builder g. */
  scalar(g: GraphBuilder, value: number): string {
    const name = this.name('c');
    const bytes = this.precision === 'float64' ? new Uint8Array(Float64Array.of(value).buffer) : new Uint8Array(Float32Array.of(value).buffer);
    return g.init(name, bytes, [], this.type);
  }

  /** Declares a float graph input of the given rank in the forward graph (and in the backward graph when `both`). */
  input(name: string, rank: number, both = false): string {
    this.f.input(name, this.type, dims(name, rank));
    if (both && this.b) this.bIn(name, rank);
    return name;
  }

  /** Declares (once) a float input of the backward graph. */
  bIn(name: string, rank: number): string {
    if (!this.#bInputs.has(name)) {
      this.#bInputs.add(name);
      this.b!.input(name, this.type, dims(name, rank));
    }
    return name;
  }

  /** A forward value used by the backward graph: becomes an output of the forward graph and an input of the backward graph. */
  use(name: string, rank: number): string {
    if (this.f.inputs.some((i) => i.name === name)) return this.bIn(name, rank);
    if (!this.#savedSet.has(name)) {
      this.#savedSet.add(name);
      this.saved.push(name);
      this.f.output(name, this.type, dims(name, rank));
    }
    return this.bIn(name, rank);
  }

  /** A parameter: an input of the forward graph (initializer-free, so training can change it) and, when used there, of the backward graph. */
  param(name: string, rank: number): string {
    if (this.constants) {
      const value = this.constants.get(name);
      if (!value) throw new Error(`no value for parameter ${name}`);
      if (!this.f.initializers.some((i) => i.name === name)) this.f.init(name, value, denseParamShapes(this.size).get(name)!);
    } else if (!this.f.inputs.some((i) => i.name === name)) this.input(name, rank);
    return name;
  }

  // ----- forward building blocks (all in this.f) -----

  /** LayerNorm over the last axis: returns y and the values its gradient needs. */
  layerNorm(x: string, gamma: string, beta: string): { y: string; xhat: string; rstd: string } {
    const g = this.f;
    const mu = g.node('ReduceMean', [x], { axes: [-1], keepdims: 1 });
    const xc = g.node('Sub', [x, mu]);
    const v = g.node('ReduceMean', [g.node('Mul', [xc, xc])], { axes: [-1], keepdims: 1 });
    const rstd = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [v, this.scalar(g, this.size.layerNormEps)])])], {}, [this.name('rstd')]);
    const xhat = g.node('Mul', [xc, rstd], {}, [this.name('xhat')]);
    const y = g.node('Add', [g.node('Mul', [xhat, gamma]), beta], {}, [this.name('ln')]);
    return { y, xhat, rstd };
  }

  /** x W + b (x [B, L, in], W [in, out]). */
  linear(x: string, w: string, b?: string): string {
    const g = this.f;
    const m = g.node('MatMul', [x, w], {}, [this.name(b ? 'mm' : 'proj')]);
    return b ? g.node('Add', [m, b], {}, [this.name('lin')]) : m;
  }

  /** tanh-approximated GELU (Hugging Face "gelu_new"): 0.5 a (1 + tanh(c (a + 0.044715 a^3))). */
  gelu(a: string): { y: string; tanh: string } {
    const g = this.f;
    const a3 = g.node('Mul', [g.node('Mul', [a, a]), a]);
    const t = g.node('Tanh', [g.node('Mul', [g.node('Add', [a, g.node('Mul', [a3, this.scalar(g, GELU_A)])]), this.scalar(g, GELU_C)])], {}, [this.name('tanh')]);
    return { y: g.node('Mul', [g.node('Mul', [a, this.scalar(g, 0.5)]), g.node('Add', [t, this.scalar(g, 1)])], {}, [this.name('gelu')]), tanh: t };
  }

  // ----- backward building blocks (all in this.b) -----

  /** Rows-flattened [N, width] view of a [B, L, width] value (backward graph). */
  flat(x: string, width: number): string {
    return this.b!.node('Reshape', [x, this.b!.ints([-1, width])]);
  }

  /** Gradients of y = x W (+ b): returns dx and writes dW (and db) to the named outputs. */
  linearBack(dy: string, x: string, w: string, inWidth: number, outWidth: number, dW: string, db?: string): string {
    const g = this.b!;
    const xs = this.use(x, 3);
    const ws = this.bIn(w, 2);
    g.node('Gemm', [this.flat(xs, inWidth), this.flat(dy, outWidth)], { transA: 1 }, [dW]);
    if (db) g.node('ReduceSum', [dy, g.ints([0, 1])], { keepdims: 0 }, [db]);
    return g.node('MatMul', [dy, g.node('Transpose', [ws], { perm: [1, 0] })]);
  }

  /** Gradients of LayerNorm: returns dx; dgamma, dbeta to the named outputs. */
  layerNormBack(dy: string, ln: { xhat: string; rstd: string }, gamma: string, dGamma: string, dBeta: string): string {
    const g = this.b!;
    const xhat = this.use(ln.xhat, 3);
    const rstd = this.use(ln.rstd, 3);
    const gm = this.bIn(gamma, 1);
    const axes01 = g.ints([0, 1]);
    g.node('ReduceSum', [g.node('Mul', [dy, xhat]), axes01], { keepdims: 0 }, [dGamma]);
    g.node('ReduceSum', [dy, axes01], { keepdims: 0 }, [dBeta]);
    const dxhat = g.node('Mul', [dy, gm]);
    const m1 = g.node('ReduceMean', [dxhat], { axes: [-1], keepdims: 1 });
    const m2 = g.node('ReduceMean', [g.node('Mul', [dxhat, xhat])], { axes: [-1], keepdims: 1 });
    return g.node('Mul', [rstd, g.node('Sub', [g.node('Sub', [dxhat, m1]), g.node('Mul', [xhat, m2])])]);
  }

  /** Gradient of the tanh-GELU at pre-activation a: dy * gelu'(a). */
  geluBack(dy: string, a: string, tanh: string): string {
    const g = this.b!;
    const as = this.use(a, 3);
    const t = this.use(tanh, 3);
    const one = this.scalar(g, 1);
    const half = this.scalar(g, 0.5);
    // 0.5 (1 + t) + 0.5 a (1 - t^2) c (1 + 3 * 0.044715 a^2)
    const left = g.node('Mul', [half, g.node('Add', [one, t])]);
    const sech2 = g.node('Sub', [one, g.node('Mul', [t, t])]);
    const inner = g.node('Mul', [this.scalar(g, GELU_C), g.node('Add', [one, g.node('Mul', [this.scalar(g, 3 * GELU_A), g.node('Mul', [as, as])])])]);
    const right = g.node('Mul', [g.node('Mul', [half, as]), g.node('Mul', [sech2, inner])]);
    return g.node('Mul', [dy, g.node('Add', [left, right])]);
  }
}

function dims(name: string, rank: number): string[] {
  return Array.from({ length: rank }, (_, i) => `${name}_d${i}`);
}

/** Names of the gradient outputs of the backward graph. */
export function gradName(param: string): string {
  return `grad.${param}`;
}

export interface BuiltGraphs {
  forward: Uint8Array;
  backward: Uint8Array | undefined;
  /** Forward outputs handed to the backward graph. */
  saved: readonly string[];
}

/**
 * The encoder as ONNX graphs. Forward inputs: `x0` [B, L, d] (token + position + type
 * embeddings, gathered in JavaScript during training), `mask` [B, L] (1 = token, 0 = padding)
 * and every dense parameter by name. Forward outputs: `hidden` [B, L, d] (the last hidden
 * state, pre-LN residual stream without a final LayerNorm), `pooled` [B, d] (mean over
 * unmasked tokens) and, with a ColBERT head, `colbert` [B, L, c] (hidden x W, not normalised).
 * Backward inputs: `d_hidden`, `d_pooled`, `d_colbert` (upstream gradients; zeros where a
 * head is unused), the saved forward values and the parameters. Backward outputs:
 * `grad.x0` and `grad.<param>` for every dense parameter.
 */
export function buildEncoderGraphs(size: TransformerSize, precision: Precision, withBackward: boolean): BuiltGraphs {
  const e = new EncoderGraphs(size, precision, withBackward);
  const x0 = e.input('x0', 3);
  const mask = e.input('mask', 2);
  const hidden = encoderForward(e, x0, mask);
  const f = e.f;
  f.node('Identity', [hidden.out], {}, ['hidden']);
  f.output('hidden', e.type, ['B', 'L', size.hidden]);
  const { pooled, m3, count } = meanPool(e, 'hidden', mask);
  f.node('Identity', [pooled], {}, ['pooled']);
  f.output('pooled', e.type, ['B', size.hidden]);
  if (size.colbertDim > 0) {
    f.node('MatMul', ['hidden', e.param('colbert.w', 2)], {}, ['colbert']);
    f.output('colbert', e.type, ['B', 'L', size.colbertDim]);
  }
  if (!withBackward) return { forward: f.build('Quarry transformer encoder (training forward)'), backward: undefined, saved: [] };
  const g = e.b!;
  // Upstream gradient of the last hidden state: direct + through mean pooling + through the ColBERT projection.
  const dHidden = e.bIn('d_hidden', 3);
  const dPooled = e.bIn('d_pooled', 2);
  const m3s = e.use(m3, 3);
  const cnt = e.use(count, 2);
  let dh = g.node('Add', [dHidden, g.node('Mul', [g.node('Unsqueeze', [g.node('Div', [dPooled, cnt]), g.ints([1])]), m3s])]);
  if (size.colbertDim > 0) {
    const dCol = e.bIn('d_colbert', 3);
    const hs = e.use('hidden', 3);
    g.node('Gemm', [e.flat(hs, size.hidden), e.flat(dCol, size.colbertDim)], { transA: 1 }, [gradName('colbert.w')]);
    dh = g.node('Add', [dh, g.node('MatMul', [dCol, g.node('Transpose', [e.bIn('colbert.w', 2)], { perm: [1, 0] })])]);
  }
  g.node('Identity', [encoderBackward(e, hidden.layers, dh)], {}, [gradName('x0')]);
  g.output(gradName('x0'), e.type, ['B', 'L', size.hidden]);
  for (const [name, shape] of denseParamShapes(size)) g.output(gradName(name), e.type, shape);
  return { forward: f.build('Quarry transformer encoder (training forward)'), backward: g.build('Quarry transformer encoder (training backward)'), saved: e.saved };
}

/** Mean pooling over unmasked tokens. */
export function meanPool(e: EncoderGraphs, hidden: string, mask: string): { pooled: string; m3: string; count: string } {
  const g = e.f;
  const m3 = g.node('Unsqueeze', [mask, g.ints([2])], {}, [e.name('m3')]);
  const count = g.node('Max', [g.node('ReduceSum', [mask, g.ints([1])], { keepdims: 1 }), e.scalar(g, 1)], {}, [e.name('count')]);
  const pooled = g.node('Div', [g.node('ReduceSum', [g.node('Mul', [hidden, m3]), g.ints([1])], { keepdims: 0 }), count]);
  return { pooled, m3, count };
}

interface LayerTrace {
  l: number;
  x: string;
  ln1: { y: string; xhat: string; rstd: string };
  qh: string;
  kT: string;
  vh: string;
  probs: string;
  ctx: string;
  x1: string;
  ln2: { y: string; xhat: string; rstd: string };
  a: string;
  tanh: string;
  h: string;
}

/** The N pre-LN blocks: x += Attn(LN1(x)); x += FFN(LN2(x)). Returns the final residual stream. */
export function encoderForward(e: EncoderGraphs, x0: string, mask: string): { out: string; layers: LayerTrace[] } {
  const g = e.f;
  const { hidden: d, heads: H, layers } = e.size;
  const dh = d / H;
  // Additive attention bias: 0 for tokens, -1e9 for padding keys ([B, 1, 1, L]).
  const bias = g.node('Unsqueeze', [g.node('Mul', [g.node('Sub', [mask, e.scalar(g, 1)]), e.scalar(g, 1e9)]), g.ints([1, 2])], {}, [e.name('mask_bias')]);
  const headShape = g.ints([0, 0, H, dh]);
  const backShape = g.ints([0, 0, d]);
  const split = g.ints([d, d, d]);
  const traces: LayerTrace[] = [];
  let x = x0;
  for (let l = 0; l < layers; l++) {
    const p = (n: LayerParam): string => e.param(`l${l}.${n}`, n.startsWith('w') ? 2 : 1);
    const ln1 = e.layerNorm(x, p('ln1_g'), p('ln1_b'));
    const qkv = e.linear(ln1.y, p('wqkv'), p('bqkv'));
    const [q, k, v] = [e.name('q'), e.name('k'), e.name('v')];
    g.node('Split', [qkv, split], { axis: 2 }, [q, k, v]);
    const qh = g.node('Transpose', [g.node('Reshape', [q, headShape])], { perm: [0, 2, 1, 3] }, [e.name('qh')]);
    const kT = g.node('Transpose', [g.node('Reshape', [k, headShape])], { perm: [0, 2, 3, 1] }, [e.name('kT')]);
    const vh = g.node('Transpose', [g.node('Reshape', [v, headShape])], { perm: [0, 2, 1, 3] }, [e.name('vh')]);
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [qh, kT]), e.scalar(g, 1 / Math.sqrt(dh))]), bias]);
    const probs = g.node('Softmax', [scores], { axis: -1 }, [e.name('probs')]);
    const ctx = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] }), backShape], {}, [e.name('ctx')]);
    const x1 = g.node('Add', [x, e.linear(ctx, p('wo'), p('bo'))], {}, [e.name('x1')]);
    const ln2 = e.layerNorm(x1, p('ln2_g'), p('ln2_b'));
    const a = e.linear(ln2.y, p('w1'), p('b1'));
    const { y: h, tanh } = e.gelu(a);
    const x2 = g.node('Add', [x1, e.linear(h, p('w2'), p('b2'))], {}, [e.name('x2')]);
    traces.push({ l, x, ln1, qh, kT, vh, probs, ctx, x1, ln2, a, tanh, h });
    x = x2;
  }
  return { out: x, layers: traces };
}

function encoderBackward(e: EncoderGraphs, traces: readonly LayerTrace[], dOut: string): string {
  const g = e.b!;
  const { hidden: d, heads: H, intermediate: f } = e.size;
  const dh = d / H;
  const headShape = g.ints([0, 0, H, dh]);
  const backShape = g.ints([0, 0, d]);
  const scale = e.scalar(g, 1 / Math.sqrt(dh));
  let dx = dOut;
  for (let i = traces.length - 1; i >= 0; i--) {
    const t = traces[i]!;
    const n = (p: LayerParam): string => `l${t.l}.${p}`;
    // FFN: x2 = x1 + (gelu(LN2(x1) W1 + b1) W2 + b2)
    const dH = e.linearBack(dx, t.h, n('w2'), f, d, gradName(n('w2')), gradName(n('b2')));
    const dA = e.geluBack(dH, t.a, t.tanh);
    const dLn2 = e.linearBack(dA, t.ln2.y, n('w1'), d, f, gradName(n('w1')), gradName(n('b1')));
    const dx1 = g.node('Add', [dx, e.layerNormBack(dLn2, t.ln2, n('ln2_g'), gradName(n('ln2_g')), gradName(n('ln2_b')))]);
    // Attention: x1 = x + (ctx Wo + bo)
    const dCtx = e.linearBack(dx1, t.ctx, n('wo'), d, d, gradName(n('wo')), gradName(n('bo')));
    const dCtxH = g.node('Transpose', [g.node('Reshape', [dCtx, headShape])], { perm: [0, 2, 1, 3] });
    const probs = e.use(t.probs, 4);
    const vh = e.use(t.vh, 4);
    const dP = g.node('MatMul', [dCtxH, g.node('Transpose', [vh], { perm: [0, 1, 3, 2] })]);
    const dVh = g.node('MatMul', [g.node('Transpose', [probs], { perm: [0, 1, 3, 2] }), dCtxH]);
    const dS = g.node('Mul', [g.node('Mul', [probs, g.node('Sub', [dP, g.node('ReduceSum', [g.node('Mul', [dP, probs]), g.ints([-1])], { keepdims: 1 })])]), scale]);
    const dQh = g.node('MatMul', [dS, g.node('Transpose', [e.use(t.kT, 4)], { perm: [0, 1, 3, 2] })]);
    const dKh = g.node('MatMul', [g.node('Transpose', [dS], { perm: [0, 1, 3, 2] }), e.use(t.qh, 4)]);
    const back = (v: string): string => g.node('Reshape', [g.node('Transpose', [v], { perm: [0, 2, 1, 3] }), backShape]);
    const dQkv = g.node('Concat', [back(dQh), back(dKh), back(dVh)], { axis: 2 });
    const dLn1 = e.linearBack(dQkv, t.ln1.y, n('wqkv'), d, 3 * d, gradName(n('wqkv')), gradName(n('bqkv')));
    dx = g.node('Add', [dx1, e.layerNormBack(dLn1, t.ln1, n('ln1_g'), gradName(n('ln1_g')), gradName(n('ln1_b')))]);
  }
  return dx;
}
