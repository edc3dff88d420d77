import { join } from 'node:path';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { docText, readCorpus } from '@quarry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { OnnxModel, OnnxTokenEncoder, StaticModel, TextTokenizer, applyDense, loadEncoder, loadOwnModel, type StaticEncoder } from '../src/index.js';
import { TransformerModel, TransformerRuntime, padBatch, weightsOf, type TransformerConfig } from '../src/transformer/model.js';
import { saveTransformerFolder } from '../src/transformer/export.js';
import { BERT_TOKENIZER, PKG, SCIFACT, cosine, tempDir } from './helpers.js';

let texts: string[] = [];
beforeAll(async () => {
  for await (const d of readCorpus(join(SCIFACT, 'corpus.jsonl.gz'))) {
    texts.push(docText(d));
    if (texts.length === 40) break;
  }
  // Short and long texts together, so batches are padded.
  texts = texts.map((t, i) => (i % 3 === 0 ? t.slice(0, 60) : t));
});

const tokenizer = TextTokenizer.fromDir(BERT_TOKENIZER);
const encodeIds = (list: readonly string[], maxLength: number): Int32Array[] => list.map((t) => tokenizer.encode(t, { maxLength, addSpecialTokens: true }));

function normalized(a: ArrayLike<number>, from: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let s = 0;
  for (let j = 0; j < n; j++) s += a[from + j]! ** 2;
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < n; j++) out[j] = a[from + j]! * inv;
  return out;
}

describe('warm start from the shipped static model', () => {
  it('a fresh transformer pools to the static model (tf exponent 1) on SciFact texts', async () => {
    const enc = (await loadOwnModel(join(PKG, 'models', 'scifact-static'))) as StaticEncoder;
    const st = enc.model as StaticModel;
    const config: TransformerConfig = { hidden: 256, layers: 2, heads: 4, intermediate: 1024, colbertDim: 128, layerNormEps: 1e-12, vocabSize: 30522, maxPositions: 256, typeVocabSize: 2 };
    const model = TransformerModel.init(config, { seed: 1, fromStatic: st });
    const rt = await TransformerRuntime.create(config, { training: false });
    const ids = encodeIds(texts, 256);
    const fw = await rt.forward(weightsOf(model), padBatch(ids));
    // The same table and weights with plain (tf 1) mean pooling; special tokens have no row there.
    const tf1 = new StaticModel({ ...st.config, tfExponent: 1 }, st.mapping, st.embeddings, st.weights);
    const d = 256;
    let worst = 1;
    let meanShipped = 0;
    for (let i = 0; i < texts.length; i++) {
      const bare = tokenizer.encode(texts[i]!, { maxLength: 256, addSpecialTokens: false });
      const ref = new Float32Array(d);
      tf1.pool(bare.subarray(0, ids[i]!.length - 2), ref, 0);
      const mine = fw.pooled.subarray(i * d, (i + 1) * d);
      worst = Math.min(worst, cosine(mine, ref));
      const shipped = new Float32Array(d);
      st.pool(bare.subarray(0, ids[i]!.length - 2), shipped, 0);
      meanShipped += cosine(mine, shipped) / texts.length;
    }
    expect(worst).toBeGreaterThan(1 - 1e-6);
    // The shipped model pools with tf exponent 0.5 (repeated tokens count sqrt(c) times), which
    // a mean pool cannot express; the warm start is close to it, not equal.
    expect(meanShipped).toBeGreaterThan(0.9);
    expect(meanShipped).toBeLessThan(1 - 1e-4);
  }, 60_000);
});

describe('standard export', () => {
  const config: TransformerConfig = { hidden: 64, layers: 2, heads: 4, intermediate: 128, colbertDim: 32, layerNormEps: 1e-12, vocabSize: 30522, maxPositions: 128, typeVocabSize: 2 };
  const model = TransformerModel.init(config, { seed: 5, initStd: 0.1 });

  it('a sentence-transformers folder loads through the third-party loader and matches the TypeScript forward', async () => {
    const dir = join(tempDir(), 'st');
    await saveTransformerFolder(dir, model, { tokenizerDir: BERT_TOKENIZER, maxLength: 128, int8: true });
    for (const f of [
      'onnx/model.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
      'config.json',
      'modules.json',
      '1_Pooling/config.json',
      'config_sentence_transformers.json',
      'sentence_bert_config.json',
    ])
      expect(existsSync(join(dir, f)), f).toBe(true);
    expect(existsSync(join(dir, '2_Normalize'))).toBe(true);
    expect(existsSync(join(dir, 'quarry-encoder.json'))).toBe(false);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ model_type: 'bert', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128 });

    const rt = await TransformerRuntime.create(config, { training: false });
    const ids = encodeIds(texts, 128);
    const fw = await rt.forward(weightsOf(model), padBatch(ids));
    const d = config.hidden;

    const enc = await loadEncoder(dir, { threads: 1 });
    expect(enc.dim).toBe(d);
    const m = await enc.encode(texts, { role: 'document' });
    let maxDiff = 0;
    for (let i = 0; i < texts.length; i++) {
      const ref = normalized(fw.pooled, i * d, d);
      for (let j = 0; j < d; j++) maxDiff = Math.max(maxDiff, Math.abs(m.data[i * d + j]! - ref[j]!));
    }
    expect(maxDiff).toBeLessThan(2e-5);

    // The int8-embedding variant: a quarter of the table's bytes, vectors nearly unchanged.
    const q = await loadEncoder(dir, { threads: 1, quantized: true });
    const mq = await q.encode(texts, { role: 'document' });
    let worstQ = 1;
    for (let i = 0; i < texts.length; i++) worstQ = Math.min(worstQ, cosine(mq.data.subarray(i * d, (i + 1) * d), m.data.subarray(i * d, (i + 1) * d)));
    expect(worstQ).toBeGreaterThan(0.999);
    expect(worstQ).toBeLessThan(1);
    expect(statSync(join(dir, 'onnx', 'model_quantized.onnx')).size).toBeLessThan(0.4 * statSync(join(dir, 'onnx', 'model.onnx')).size);

    // Token vectors (last_hidden_state, normalised per token) through OnnxTokenEncoder.
    const tok = await OnnxTokenEncoder.load(dir, { threads: 1 });
    const r = await tok.encodeTokens(texts, { role: 'document' });
    const { L } = padBatch(ids);
    let tokDiff = 0;
    for (let i = 0; i < texts.length; i++) {
      expect(r.offsets[i + 1]! - r.offsets[i]!).toBe(ids[i]!.length);
      for (let t = 0; t < ids[i]!.length; t++) {
        const ref = normalized(fw.hidden, (i * L + t) * d, d);
        for (let j = 0; j < d; j++) tokDiff = Math.max(tokDiff, Math.abs(r.data[(r.offsets[i]! + t) * d + j]! - ref[j]!));
      }
    }
    expect(tokDiff).toBeLessThan(2e-5);
    await tok.release();
  }, 60_000);

  it('a PyLate-style folder carries the ColBERT projection as a Dense module', async () => {
    const dir = join(tempDir(), 'pylate');
    await saveTransformerFolder(dir, model, { tokenizerDir: BERT_TOKENIZER, layout: 'pylate', maxLength: 128 });
    const onnx = await OnnxModel.load(dir, { threads: 1 });
    expect(onnx.folder.dense).toHaveLength(1);
    expect(onnx.folder.dense?.[0]).toMatchObject({ inFeatures: 64, outFeatures: 32, bias: undefined, activation: 'identity' });
    const rt = await TransformerRuntime.create(config, { training: false });
    const ids = encodeIds(texts.slice(0, 8), 128);
    const batch = padBatch(ids);
    const fw = await rt.forward(weightsOf(model), batch);
    const tok = await OnnxTokenEncoder.fromModel(onnx);
    const r = await tok.encodeTokens(texts.slice(0, 8), { role: 'document' });
    // Undo the per-token normalisation by projecting the normalised hidden state: directions must agree.
    const rows = r.offsets[8]!;
    const projected = applyDense(onnx.folder.dense ?? [], r.data, rows, 64);
    let worst = 1;
    for (let i = 0; i < 8; i++)
      for (let t = 0; t < ids[i]!.length; t++) {
        const mine = fw.colbert!.subarray((i * batch.L + t) * 32, (i * batch.L + t + 1) * 32);
        worst = Math.min(worst, cosine(mine, projected.data.subarray((r.offsets[i]! + t) * 32, (r.offsets[i]! + t + 1) * 32)));
      }
    expect(worst).toBeGreaterThan(1 - 1e-6);
    await tok.release();
  }, 60_000);
});
