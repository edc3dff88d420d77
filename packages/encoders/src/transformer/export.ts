import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { assertWritableIndexDir } from '@quarry/core';
import { quantizeRows } from '../export-onnx.js';
import { DataType } from '../onnx-graph.js';
import { writeSafetensors } from '../safetensors.js';
import { EncoderGraphs, encoderForward } from './graph.js';
import type { TransformerModel } from './model.js';

/** The standard BERT output name that sentence-transformers' ONNX exports carry. */
export const LAST_HIDDEN_STATE = 'last_hidden_state';

/**
 * The encoder as one inference graph with the standard BERT interface: inputs `input_ids`,
 * `attention_mask`, `token_type_ids` (int64 [batch, sequence]), output `last_hidden_state`
 * (float [batch, sequence, hidden]). Weights are initializers (fp32).
 */
export function buildInferenceGraph(model: TransformerModel, options: { int8Embeddings?: boolean } = {}): Uint8Array {
  const c = model.config;
  const e = new EncoderGraphs(c, 'float32', false, model.dense);
  const g = e.f;
  g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  g.input('token_type_ids', DataType.INT64, ['batch', 'sequence']);
  let tok: string;
  if (options.int8Embeddings) {
    // Token table in int8 with one scale per row: gather the rows, then dequantise only those.
    const { q, scale } = quantizeRows(model.tok, c.vocabSize, c.hidden);
    g.init('embeddings.word_embeddings.weight_int8', q, [c.vocabSize, c.hidden]);
    g.init('embeddings.word_embeddings.scale', scale, [c.vocabSize, 1]);
    const rows = g.node('Cast', [g.node('Gather', ['embeddings.word_embeddings.weight_int8', 'input_ids'], { axis: 0 })], { to: DataType.FLOAT });
    tok = g.node('Mul', [rows, g.node('Gather', ['embeddings.word_embeddings.scale', 'input_ids'], { axis: 0 })]);
  } else {
    g.init('embeddings.word_embeddings.weight', model.tok, [c.vocabSize, c.hidden]);
    tok = g.node('Gather', ['embeddings.word_embeddings.weight', 'input_ids'], { axis: 0 });
  }
  g.init('embeddings.position_embeddings.weight', model.pos, [c.maxPositions, c.hidden]);
  g.init('embeddings.token_type_embeddings.weight', model.type, [c.typeVocabSize, c.hidden]);
  const length = g.node('Shape', ['input_ids'], { start: 1, end: 2 });
  const pos = g.node('Slice', ['embeddings.position_embeddings.weight', g.ints([0]), length, g.ints([0])]);
  const type = g.node('Gather', ['embeddings.token_type_embeddings.weight', 'token_type_ids'], { axis: 0 });
  const x0 = g.node('Add', [g.node('Add', [tok, pos]), type]);
  const mask = g.node('Cast', ['attention_mask'], { to: DataType.FLOAT });
  const { out } = encoderForward(e, x0, mask);
  g.node('Identity', [out], {}, [LAST_HIDDEN_STATE]);
  g.output(LAST_HIDDEN_STATE, DataType.FLOAT, ['batch', 'sequence', c.hidden]);
  return g.build(`Quarry transformer encoder: ${c.layers} pre-LN layers, hidden ${c.hidden}, ${c.heads} heads, FFN ${c.intermediate}`);
}

export interface SaveTransformerOptions {
  /** Folder holding the tokenizer.json (and tokenizer_config.json) the model was trained with. */
  tokenizerDir: string;
  /**
   * 'sentence-transformers' (default): Transformer + mean Pooling + Normalize, for dense
   * retrieval. 'pylate': Transformer + Dense (the ColBERT projection, no bias), token vectors
   * for late interaction.
   */
  layout?: 'sentence-transformers' | 'pylate';
  /** Token budget per text, special tokens included (default: maxPositions). */
  maxLength?: number;
  /**
   * Also write onnx/model_quantized.onnx with the token-embedding table in int8 (one scale per
   * row; the other weights stay fp32), which loaders pick with `quantized: true`.
   */
  int8?: boolean;
  /** Replace a non-empty folder. */
  overwrite?: boolean;
  /** Free-form provenance written into config_sentence_transformers.json under "quarry". */
  training?: Record<string, unknown>;
}

/**
 * Writes the model as a standard folder: onnx/model.onnx (standard BERT inputs, output
 * last_hidden_state), tokenizer.json, tokenizer_config.json, config.json (model_type bert
 * with the sizes), modules.json, sentence_bert_config.json, config_sentence_transformers.json
 * and either 1_Pooling (mean) + 2_Normalize, or (PyLate) 1_Dense with the ColBERT projection.
 * The folder is assembled beside `dir` and renamed into place.
 */
export async function saveTransformerFolder(dir: string, model: TransformerModel, options: SaveTransformerOptions): Promise<void> {
  const target = resolve(dir);
  // Refuses a non-empty folder that is not a Quarry index unless overwrite is set.
  if (!options.overwrite) await assertWritableIndexDir(target);
  const c = model.config;
  const layout = options.layout ?? 'sentence-transformers';
  if (layout === 'pylate' && c.colbertDim === 0) throw new Error('the pylate layout needs a model with a ColBERT head (colbertDim > 0).');
  const maxLength = Math.min(options.maxLength ?? c.maxPositions, c.maxPositions);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'onnx'), { recursive: true });
  const json = (file: string, value: unknown): void => {
    mkdirSync(dirname(join(tmp, file)), { recursive: true });
    writeFileSync(join(tmp, file), `${JSON.stringify(value, null, 2)}\n`);
  };
  writeFileSync(join(tmp, 'onnx', 'model.onnx'), buildInferenceGraph(model));
  if (options.int8) writeFileSync(join(tmp, 'onnx', 'model_quantized.onnx'), buildInferenceGraph(model, { int8Embeddings: true }));
  cpSync(join(options.tokenizerDir, 'tokenizer.json'), join(tmp, 'tokenizer.json'));
  if (existsSync(join(options.tokenizerDir, 'tokenizer_config.json'))) cpSync(join(options.tokenizerDir, 'tokenizer_config.json'), join(tmp, 'tokenizer_config.json'));
  json('config.json', {
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: c.vocabSize,
    hidden_size: c.hidden,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    intermediate_size: c.intermediate,
    hidden_act: 'gelu_new',
    max_position_embeddings: c.maxPositions,
    type_vocab_size: c.typeVocabSize,
    layer_norm_eps: c.layerNormEps,
    pad_token_id: 0,
    // Not a stock BertModel: the blocks are pre-LN (x + Attn(LN(x))) with no final LayerNorm.
    // The ONNX graph is the model; these keys say how to rebuild it elsewhere.
    quarry: { preLayerNorm: true, finalLayerNorm: false, colbertDim: c.colbertDim },
  });
  json('sentence_bert_config.json', { max_seq_length: maxLength, do_lower_case: false });
  json('config_sentence_transformers.json', {
    __version__: { sentence_transformers: '3.0.0' },
    prompts: {},
    default_prompt_name: null,
    similarity_fn_name: layout === 'pylate' ? 'MaxSim' : 'cosine',
    ...(options.training ? { quarry: options.training } : {}),
  });
  const transformer = { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' };
  if (layout === 'sentence-transformers') {
    json('modules.json', [
      transformer,
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
    ]);
    json('1_Pooling/config.json', { word_embedding_dimension: c.hidden, pooling_mode: 'mean', include_prompt: true });
    mkdirSync(join(tmp, '2_Normalize'), { recursive: true });
  } else {
    json('modules.json', [transformer, { idx: 1, name: '1', path: '1_Dense', type: 'pylate.models.Dense.Dense' }]);
    json('1_Dense/config.json', { in_features: c.hidden, out_features: c.colbertDim, bias: false, activation_function: 'torch.nn.modules.linear.Identity' });
    // PyLate / sentence-transformers store linear.weight as [out, in]; ours is [in, out].
    const w = model.dense.get('colbert.w')!;
    const t = new Float32Array(w.length);
    for (let i = 0; i < c.hidden; i++) for (let o = 0; o < c.colbertDim; o++) t[o * c.hidden + i] = w[i * c.colbertDim + o]!;
    writeFileSync(join(tmp, '1_Dense', 'model.safetensors'), writeSafetensors({ 'linear.weight': { dtype: 'F32', shape: [c.colbertDim, c.hidden], data: t } }));
  }
  const old = `${target}.old-${process.pid}`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
}
