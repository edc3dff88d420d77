import { InputError, QuarryError } from '@quarry/core';
import { ContextualModel } from './contextual-model.js';
import { floatToHalf, halfToFloat } from './half.js';
import type { TrainableModel } from './model.js';
import { DataType, GraphBuilder, initializerFloat32, readInitializers, type InitializerTensor } from './onnx-graph.js';
import { StaticModel } from './static-model.js';
import { ModelInvalidError } from './errors.js';
import type { OwnModelConfig } from './model.js';

/** Weight precision of an exported embedding table. */
export type WeightPrecision = 'fp32' | 'fp16' | 'int8';

export const SENTENCE_OUTPUT = 'sentence_embedding';
export const TOKEN_OUTPUT = 'token_embeddings';

/**
 * Exports one of Quarry's own models to ONNX (opset 17), with inputs `input_ids` and
 * `attention_mask` (int64 [batch, sequence]) and outputs `sentence_embedding`
 * ([batch, dim], mean-pooled then L2-normalised) and `token_embeddings`
 * ([batch, sequence, dim], zero on padding). The embedding table is stored in fp32,
 * fp16 (Cast) or int8 with one scale per row (DequantizeLinear, axis 0); the rest stays
 * fp32. Unknown token ids map to an extra all-zero row.
 */
export function exportOnnx(model: TrainableModel, options: { precision?: WeightPrecision; docString?: string } = {}): Uint8Array {
  const precision = options.precision ?? 'fp32';
  const base = model instanceof ContextualModel ? model.base : model instanceof StaticModel ? model : undefined;
  if (!base) throw new InputError('exportOnnx() exports StaticModel or ContextualModel instances.');
  const { rows, dim: d, vocabSize } = base.config;
  const g = new GraphBuilder('quarry-encoder');
  g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);

  const mapping = new Int32Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) mapping[i] = base.mapping[i]! < 0 ? rows : base.mapping[i]!;
  g.init('mapping', mapping, [vocabSize]);
  const tableRows = rows + 1;
  let table: string;
  if (precision === 'fp32') {
    const e = new Float32Array(tableRows * d);
    e.set(base.embeddings);
    table = g.init('embeddings', e, [tableRows, d]);
  } else if (precision === 'fp16') {
    const h = new Uint16Array(tableRows * d);
    for (let i = 0; i < base.embeddings.length; i++) h[i] = floatToHalf(base.embeddings[i]!);
    g.init('embeddings_fp16', h, [tableRows, d], DataType.FLOAT16);
    table = g.node('Cast', ['embeddings_fp16'], { to: DataType.FLOAT });
  } else {
    const { q, scale } = quantizeRows(base.embeddings, rows, d);
    const q2 = new Int8Array(tableRows * d);
    q2.set(q);
    const s2 = new Float32Array(tableRows).fill(1);
    s2.set(scale);
    g.init('embeddings_int8', q2, [tableRows, d]);
    g.init('embeddings_scale', s2, [tableRows]);
    g.init('embeddings_zero', new Int8Array(tableRows), [tableRows]);
    table = g.node('DequantizeLinear', ['embeddings_int8', 'embeddings_scale', 'embeddings_zero'], { axis: 0 });
  }
  const w = new Float32Array(tableRows);
  w.set(base.weights);
  g.init('token_weights', w, [tableRows]);

  const rowIds = g.node('Gather', ['mapping', 'input_ids'], { axis: 0 });
  const emb = g.node('Gather', [table, rowIds], { axis: 0 });
  const tw = g.node('Gather', ['token_weights', rowIds], { axis: 0 });
  const mask = g.node('Cast', ['attention_mask'], { to: DataType.FLOAT });
  const lastAxis = g.ints([-1]);
  const seqAxis = g.ints([1]);
  let tokenScale = g.node('Mul', [tw, mask]);
  const tf = base.tf;
  if (tf !== 1) {
    // c_t = number of (unmasked) positions holding the same token id; factor c_t^(tf-1).
    const same = g.node('Cast', [g.node('Equal', [g.node('Unsqueeze', ['input_ids', g.ints([2])]), g.node('Unsqueeze', ['input_ids', seqAxis])])], { to: DataType.FLOAT });
    const counts = g.node('ReduceSum', [g.node('Mul', [same, g.node('Unsqueeze', [mask, seqAxis])]), g.ints([2])], { keepdims: 0 });
    tokenScale = g.node('Mul', [tokenScale, g.node('Pow', [g.node('Max', [counts, g.scalar(1)]), g.scalar(tf - 1)])]);
  }
  const wm = g.node('Unsqueeze', [tokenScale, lastAxis]);
  const x = g.node('Mul', [emb, wm]);
  const count = g.node('Max', [g.node('ReduceSum', [mask, seqAxis], { keepdims: 1 }), g.scalar(1)]);

  let tokens = x;
  if (model instanceof ContextualModel) {
    const { hidden: h, kernel: k } = model.config;
    g.init('conv_PT', transpose(model.P, h, d), [d, h]);
    const Wc = new Float32Array(h * h * k);
    // ONNX Conv weight [out, in, k]; ours W_k[o, i] at k*h*h + o*h + i.
    for (let kk = 0; kk < k; kk++) for (let o = 0; o < h; o++) for (let i = 0; i < h; i++) Wc[(o * h + i) * k + kk] = model.W[kk * h * h + o * h + i]!;
    g.init('conv_W', Wc, [h, h, k]);
    g.init('conv_b', model.b.slice(), [h]);
    g.init('conv_QT', transpose(model.Q, d, h), [h, d]);
    const p = g.node('MatMul', [x, 'conv_PT']);
    const pt = g.node('Transpose', [p], { perm: [0, 2, 1] });
    const c = (k - 1) / 2;
    const a = g.node('Transpose', [g.node('Conv', [pt, 'conv_W', 'conv_b'], { pads: [c, c], kernel_shape: [k] })], { perm: [0, 2, 1] });
    // tanh-GELU: 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3)))
    const a3 = g.node('Mul', [g.node('Mul', [a, a]), a]);
    const inner = g.node('Mul', [g.node('Add', [a, g.node('Mul', [a3, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
    const z = g.node('Mul', [g.node('Mul', [a, g.scalar(0.5)]), g.node('Add', [g.node('Tanh', [inner]), g.scalar(1)])]);
    const zm = g.node('Mul', [z, g.node('Unsqueeze', [mask, lastAxis])]);
    tokens = g.node('Add', [x, g.node('MatMul', [zm, 'conv_QT'])]);
  }
  g.node('Identity', [tokens], {}, [TOKEN_OUTPUT]);
  const pooled = g.node('Div', [g.node('ReduceSum', [tokens, seqAxis], { keepdims: 0 }), count]);
  const sq = g.node('ReduceSum', [g.node('Mul', [pooled, pooled]), lastAxis], { keepdims: 1 });
  const norm = g.node('Max', [g.node('Sqrt', [sq]), g.scalar(1e-12)]);
  g.node('Div', [pooled, norm], {}, [SENTENCE_OUTPUT]);
  g.output(SENTENCE_OUTPUT, DataType.FLOAT, ['batch', d]);
  g.output(TOKEN_OUTPUT, DataType.FLOAT, ['batch', 'sequence', d]);
  return g.build(options.docString ?? `Quarry ${model.config.type} encoder, dim ${d}, ${rows} rows, ${precision} table`);
}

/** Symmetric int8 quantisation with one scale per row. */
export function quantizeRows(values: Float32Array, rows: number, dim: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(rows * dim);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(values[r * dim + j]!));
    const s = max > 0 ? max / 127 : 1;
    scale[r] = s;
    const sf = scale[r]!;
    for (let j = 0; j < dim; j++) q[r * dim + j] = Math.max(-127, Math.min(127, Math.round(values[r * dim + j]! / sf)));
  }
  return { q, scale };
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/**
 * Rebuilds a StaticModel / ContextualModel from the initializers of a model exported by
 * `exportOnnx` (int8/fp16 tables are dequantised exactly as onnxruntime does), so the
 * TypeScript runtime and onnxruntime compute from the same numbers.
 */
export function importOnnx(bytes: Uint8Array, config: OwnModelConfig, file = 'model.onnx'): StaticModel | ContextualModel {
  const inits = readInitializers(bytes, file);
  const need = (name: string): InitializerTensor => {
    const t = inits.get(name);
    if (!t)
      throw new ModelInvalidError(file, `has no initializer "${name}"; it was not exported by @quarry/encoders' exportOnnx (found: ${[...inits.keys()].slice(0, 8).join(', ')}).`, {
        initializer: name,
      });
    return t;
  };
  const { rows, dim: d, vocabSize } = config;
  const mapT = need('mapping');
  if (mapT.dataType !== DataType.INT32 || mapT.dims.length !== 1 || mapT.dims[0] !== vocabSize)
    throw new ModelInvalidError(file, `initializer "mapping" should be INT32 [${vocabSize}], got type ${mapT.dataType} [${mapT.dims.join(', ')}].`);
  const rawMap = new Int32Array(mapT.raw.buffer.slice(mapT.raw.byteOffset, mapT.raw.byteOffset + mapT.raw.byteLength));
  const mapping = new Int32Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) mapping[i] = rawMap[i]! >= rows ? -1 : rawMap[i]!;
  let table: Float32Array;
  if (inits.has('embeddings')) table = initializerFloat32(need('embeddings'));
  else if (inits.has('embeddings_fp16')) {
    const t = need('embeddings_fp16');
    const h = new Uint16Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength));
    table = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) table[i] = halfToFloat(h[i]!);
  } else {
    const t = need('embeddings_int8');
    const q = new Int8Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength));
    const s = initializerFloat32(need('embeddings_scale'));
    table = new Float32Array(q.length);
    for (let r = 0; r < s.length; r++) for (let j = 0; j < d; j++) table[r * d + j] = q[r * d + j]! * s[r]!;
  }
  if (table.length !== (rows + 1) * d) throw new ModelInvalidError(file, `embedding table holds ${table.length} values, expected (rows+1)*dim = ${(rows + 1) * d} from quarry-encoder.json.`);
  const weights = initializerFloat32(need('token_weights')).slice(0, rows);
  const sconf = { type: 'static' as const, dim: d, rows, vocabSize, learnWeights: config.learnWeights, ...(config.tfExponent !== undefined ? { tfExponent: config.tfExponent } : {}) };
  const base = asModelError(file, () => new StaticModel(sconf, mapping, table.slice(0, rows * d), weights));
  if (config.type === 'static') return base;
  const { hidden: h, kernel: k } = config;
  const PT = initializerFloat32(need('conv_PT'));
  const Wc = initializerFloat32(need('conv_W'));
  const QT = initializerFloat32(need('conv_QT'));
  // hidden and kernel come from quarry-encoder.json: check them against the weights before sizing anything by them.
  for (const [name, got, want] of [
    ['conv_PT', PT.length, d * h],
    ['conv_W', Wc.length, k * h * h],
    ['conv_QT', QT.length, h * d],
  ] as const) {
    if (got !== want) throw new ModelInvalidError(file, `initializer "${name}" holds ${got} values; quarry-encoder.json (dim ${d}, hidden ${h}, kernel ${k}) needs ${want}.`, { initializer: name });
  }
  const W = new Float32Array(k * h * h);
  for (let kk = 0; kk < k; kk++) for (let o = 0; o < h; o++) for (let i = 0; i < h; i++) W[kk * h * h + o * h + i] = Wc[(o * h + i) * k + kk]!;
  return asModelError(file, () => new ContextualModel(config, base, { P: transpose(PT, d, h), W, b: initializerFloat32(need('conv_b')), Q: transpose(QT, h, d) }));
}

/** A model whose weights disagree with its config is an invalid model file (MODEL_INVALID), not a caller's bad input. */
function asModelError<T>(file: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof QuarryError && error.code === 'INPUT_INVALID') throw new ModelInvalidError(file, error.message, {}, { cause: error });
    throw error;
  }
}
