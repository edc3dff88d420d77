import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledTokenizerDir, decodeModel, encodeModel, findNodeOutputConsuming, ModelInvalidError } from '@quarry/encoders';
import { OnnxColbertEncoder } from '../src/index.js';

const FIXTURE = join(__dirname, 'fixtures', 'tiny-distilbert', 'model.onnx');
const OUT_DIM = 8;
// A fixed projection (2 -> 8), like a ColBERT linear head on top of the encoder.
const PROJECTION = Float32Array.from({ length: 2 * OUT_DIM }, (_, i) => Math.sin(i + 1) * 3);

/** The tiny DistilBERT with its last hidden state projected to 8 dims as `token_embeddings`. */
function colbertShapedModel(): Uint8Array {
  const bytes = new Uint8Array(readFileSync(FIXTURE));
  const hidden = findNodeOutputConsuming(bytes, 'distilbert.transformer.layer.1.output_layer_norm.bias', 'Add')!;
  const model = decodeModel(bytes);
  const graph = model.graph!;
  graph.initializer!.push({ name: 'colbert_projection', dataType: 1, dims: [2, OUT_DIM], rawData: new Uint8Array(PROJECTION.buffer.slice(0)) });
  graph.node!.push({ opType: 'MatMul', name: 'colbert_linear', input: [hidden, 'colbert_projection'], output: ['token_embeddings'] });
  graph.output!.push({ name: 'token_embeddings', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }, { dimValue: OUT_DIM }] } } } });
  return encodeModel(model);
}

function folder(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-colbert-onnx-'));
  writeFileSync(join(dir, 'model.onnx'), colbertShapedModel());
  copyFileSync(join(bundledTokenizerDir(), 'tokenizer.json'), join(dir, 'tokenizer.json'));
  copyFileSync(join(bundledTokenizerDir(), 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Reference: run the raw graph on the given ids/mask and L2-normalise the kept rows. */
async function reference(dir: string, ids: Int32Array, attended: number, keep: Int32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
  const out = await session.run({
    input_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from(ids, (v) => BigInt(v)),
      [1, ids.length],
    ),
    attention_mask: new ort.Tensor(
      'int64',
      BigInt64Array.from(ids, (_, t) => (t < attended ? 1n : 0n)),
      [1, ids.length],
    ),
  });
  const data = out['token_embeddings']!.data as Float32Array;
  const rows = new Float32Array(keep.length * OUT_DIM);
  keep.forEach((t, r) => {
    const v = data.subarray(t * OUT_DIM, (t + 1) * OUT_DIM);
    const n = Math.hypot(...v);
    for (let j = 0; j < OUT_DIM; j++) rows[r * OUT_DIM + j] = v[j]! / n;
  });
  await session.release();
  return rows;
}

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('OnnxColbertEncoder on a ColBERT-shaped ONNX export', () => {
  let dir: string;
  let encoder: OnnxColbertEncoder;
  beforeAll(async () => {
    dir = folder();
    encoder = await OnnxColbertEncoder.load(dir, { threads: 1 });
  });

  it('builds queries as [CLS] marker tokens [SEP] + [MASK] padding to 32, all attended', () => {
    const q = encoder.prepare('vitamin d deficiency', 'query');
    // bert-base-uncased: [CLS]=101, [unused0]=1 (no [QueryMarker] in this vocabulary), [SEP]=102, [MASK]=103.
    expect([...q.ids.subarray(0, 2)]).toEqual([101, 1]);
    expect(q.ids.length).toBe(32);
    const sep = q.ids.indexOf(102);
    expect(sep).toBeGreaterThan(2);
    expect([...q.ids.subarray(sep + 1)].every((id) => id === 103)).toBe(true);
    expect(q.attended).toBe(32);
    expect(q.keep.length).toBe(32);
    // A long query is cut to 32 tokens, still ending in [SEP].
    const long = encoder.prepare('word '.repeat(100), 'query');
    expect(long.ids.length).toBe(32);
    expect(long.ids[31]).toBe(102);
  });

  it('builds documents with the document marker and drops their punctuation vectors', () => {
    const d = encoder.prepare('Aspirin, in low doses, helps.', 'document');
    expect([...d.ids.subarray(0, 2)]).toEqual([101, 2]);
    const comma = 1010;
    const period = 1012;
    const kept = [...d.keep].map((t) => d.ids[t]!);
    expect(d.ids).toContain(comma);
    expect(kept).not.toContain(comma);
    expect(kept).not.toContain(period);
    expect(kept).toContain(101);
    expect(kept).toContain(102);
  });

  it('returns the graph outputs of exactly those inputs, L2-normalised', async () => {
    for (const [text, role] of [
      ['Vitamin D deficiency raises tuberculosis risk.', 'document'],
      ['does aspirin prevent stroke?', 'query'],
    ] as const) {
      const input = encoder.prepare(text, role);
      const got = await encoder.encodeTokens([text], { role });
      expect(got.offsets[1]).toBe(input.keep.length);
      expect(maxDiff(got.data, await reference(dir, input.ids, input.attended, input.keep))).toBeLessThan(1e-5);
    }
  });

  it('batches texts of different lengths without changing any vector', async () => {
    const texts = ['short one.', 'a somewhat longer document about platelets and aspirin, with commas.', 'x'];
    const batch = await encoder.encodeTokens(texts, { role: 'document' });
    for (const [i, t] of texts.entries()) {
      const single = await encoder.encodeTokens([t], { role: 'document' });
      expect(maxDiff(batch.data.subarray(batch.offsets[i]! * OUT_DIM, batch.offsets[i + 1]! * OUT_DIM), single.data)).toBeLessThan(1e-5);
    }
  });

  it('masks the expansion tokens out of attention when the config says so', async () => {
    const d2 = folder({ 'colbert.json': JSON.stringify({ attendToExpansionTokens: false }) });
    const e2 = await OnnxColbertEncoder.load(d2, { threads: 1 });
    const input = e2.prepare('aspirin and stroke', 'query');
    expect(input.attended).toBe(input.ids.indexOf(102) + 1);
    const got = await e2.encodeTokens(['aspirin and stroke'], { role: 'query' });
    expect(maxDiff(got.data, await reference(d2, input.ids, input.attended, input.keep))).toBeLessThan(1e-5);
  });

  it('keeps a Matryoshka prefix, re-normalised, and rejects dims the model was not trained for', async () => {
    const full = await encoder.encodeTokens(['aspirin'], { role: 'query' });
    const four = await encoder.encodeTokens(['aspirin'], { role: 'query', dim: 4 });
    const row = full.data.subarray(0, 4);
    const n = Math.hypot(...row);
    expect(
      maxDiff(
        four.data.subarray(0, 4),
        row.map((v) => v / n),
      ),
    ).toBeLessThan(1e-6);
    await expect(encoder.encodeTokens(['x'], { role: 'query', dim: 9 })).rejects.toThrow(/1\.\.8/);
    const trained = folder({ 'colbert.json': JSON.stringify({ matryoshkaDims: [4] }) });
    await expect(OnnxColbertEncoder.load(trained, { dim: 6 })).rejects.toThrow(/trained for token dims 4, 8; 6 is not one of them/);
    expect((await OnnxColbertEncoder.load(trained, { dim: 4 })).dim).toBe(4);
  });

  it('reads Stanford ColBERT and PyLate configs', async () => {
    const stanford = await OnnxColbertEncoder.load(
      folder({ 'artifact.metadata': JSON.stringify({ query_token_id: '[unused2]', doc_token_id: '[unused3]', query_maxlen: 16, doc_maxlen: 40, mask_punctuation: false }) }),
    );
    expect(stanford.prepare('a b', 'query').ids.length).toBe(16);
    expect(stanford.prepare('a b', 'query').ids[1]).toBe(3);
    const doc = stanford.prepare('a, b.', 'document');
    expect(doc.ids[1]).toBe(4);
    expect(doc.keep.length).toBe(doc.ids.length);
    const pylate = await OnnxColbertEncoder.load(
      folder({ 'config_sentence_transformers.json': JSON.stringify({ query_prefix: '[unused5] ', document_prefix: '[unused6] ', query_length: 24, attend_to_expansion_tokens: false }) }),
    );
    const q = pylate.prepare('a b', 'query');
    expect([q.ids.length, q.ids[1], q.attended]).toEqual([24, 6, 5]);
  });

  it('says which token is missing when the vocabulary lacks a marker', async () => {
    const bad = folder({ 'colbert.json': JSON.stringify({ queryMarker: '[NoSuchMarker]' }) });
    // Falls back to [QueryMarker] / [unused0]: present, so it loads.
    await expect(OnnxColbertEncoder.load(bad)).resolves.toBeDefined();
    const noMask = folder();
    const tok = JSON.parse(readFileSync(join(noMask, 'tokenizer.json'), 'utf8'));
    delete tok.model.vocab['[MASK]'];
    tok.added_tokens = tok.added_tokens.filter((t: { content: string }) => t.content !== '[MASK]');
    writeFileSync(join(noMask, 'tokenizer.json'), JSON.stringify(tok));
    await expect(OnnxColbertEncoder.load(noMask)).rejects.toThrow(ModelInvalidError);
    await expect(OnnxColbertEncoder.load(noMask)).rejects.toThrow(/no mask token/);
  });
});
