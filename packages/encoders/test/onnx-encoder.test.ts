import { copyFileSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it, beforeAll } from 'vitest';
import { QuarryError } from '@quarry/core';
import { DataType, GraphBuilder, OnnxEncoder, OnnxTokenEncoder, exposeGraphOutput, findNodeOutputConsuming, loadEncoder, toExternalData } from '../src/index.js';
import { BERT_TOKENIZER, FIXTURES, maxAbsDiff, tempDir } from './helpers.js';

const DISTILBERT = join(FIXTURES, 'tiny-distilbert', 'model.onnx');

/** A model folder: the given graph + the BERT tokenizer (+ an optional quarry-encoder.json). */
function folder(model: Uint8Array, config?: Record<string, unknown>, tokenizer = true): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'model.onnx'), model);
  if (tokenizer) {
    copyFileSync(join(BERT_TOKENIZER, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    copyFileSync(join(BERT_TOKENIZER, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  }
  if (config) writeFileSync(join(dir, 'quarry-encoder.json'), JSON.stringify(config));
  return dir;
}

/** The DistilBERT fixture with its last layer's output exposed as `last_hidden_state`. */
function distilbertWithHidden(elemType: (typeof DataType)['FLOAT' | 'FLOAT16'] = DataType.FLOAT): Uint8Array {
  const bytes = new Uint8Array(readFileSync(DISTILBERT));
  const hidden = findNodeOutputConsuming(bytes, 'distilbert.transformer.layer.1.output_layer_norm.bias', 'Add');
  expect(hidden).toBeDefined();
  return exposeGraphOutput(bytes, hidden!, 'last_hidden_state', ['batch', 'sequence', 2], elemType);
}

const TEXTS = [
  'Vitamin D deficiency is associated with an increased risk of tuberculosis.',
  'short',
  'A much longer text about aspirin, platelets, and cardiovascular outcomes in randomised controlled trials of elderly patients.',
  'Hello world',
  '',
];

describe('OnnxEncoder / OnnxTokenEncoder on the tiny DistilBERT export', () => {
  let dir: string;
  beforeAll(() => {
    dir = folder(distilbertWithHidden(), { pooling: 'mean', normalize: false, maxLength: 64 });
  });

  it('the rewritten graph still computes the original logits', async () => {
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    const ids = new ort.Tensor('int64', BigInt64Array.from([101n, 7592n, 2088n, 102n]), [1, 4]);
    const mask = new ort.Tensor('int64', BigInt64Array.from([1n, 1n, 1n, 1n]), [1, 4]);
    const out = await session.run({ input_ids: ids, attention_mask: mask });
    const logits = out['logits']!.data as Float32Array;
    expect(logits[0]).toBeCloseTo(0.00032, 5);
    expect(logits[1]).toBeCloseTo(-0.0002, 5);
    expect(out['last_hidden_state']!.dims).toEqual([1, 4, 2]);
  });

  it('mean pooling equals the masked mean of last_hidden_state; batching and padding do not change results', async () => {
    const enc = await OnnxEncoder.load(dir, { batchSize: 2 });
    expect(enc.dim).toBe(2);
    const batched = await enc.encode(TEXTS, { role: 'document' });
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    for (const [i, text] of TEXTS.entries()) {
      const ids = enc.model.tokenizer.encode(text, { maxLength: 64 });
      const n = ids.length;
      const out = await session.run({
        input_ids: new ort.Tensor(
          'int64',
          BigInt64Array.from(ids, (v) => BigInt(v)),
          [1, n],
        ),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
      });
      const h = out['last_hidden_state']!.data as Float32Array;
      const mean = [0, 0];
      for (let t = 0; t < n; t++) for (let j = 0; j < 2; j++) mean[j]! += h[t * 2 + j]! / n;
      expect(maxAbsDiff(batched.data.subarray(i * 2, i * 2 + 2), mean)).toBeLessThan(1e-5);
      const single = await enc.encode([text], { role: 'document' });
      expect(maxAbsDiff(single.data, batched.data.subarray(i * 2, i * 2 + 2))).toBeLessThan(1e-5);
    }
    await enc.release();
  });

  it('cls pooling, normalisation, Matryoshka dim, prefixes', async () => {
    const cls = await OnnxEncoder.load(dir, { pooling: 'cls', normalize: true, queryPrefix: 'query: ' });
    const m = await cls.encode(TEXTS.slice(0, 2), { role: 'query' });
    for (let i = 0; i < 2; i++) expect(Math.hypot(m.data[i * 2]!, m.data[i * 2 + 1]!)).toBeCloseTo(1, 5);
    const one = await cls.encode(TEXTS.slice(0, 1), { role: 'query', dim: 1 });
    expect(one.cols).toBe(1);
    expect(Math.abs(one.data[0]!)).toBeCloseTo(1, 5);
    // (A 2-wide LayerNorm output is always +-(a, -a), so prefixes are checked on mean pooling.)
    const mean = await OnnxEncoder.load(dir, { queryPrefix: 'query: ' });
    const q = await mean.encode(TEXTS.slice(0, 1), { role: 'query' });
    const d = await mean.encode(TEXTS.slice(0, 1), { role: 'document' });
    expect(maxAbsDiff(q.data, d.data)).toBeGreaterThan(1e-4); // the query prefix changed the input
    await expect(cls.encode(['x'], { role: 'query', dim: 3 })).rejects.toThrow(/dim must be an integer in 1\.\.2/);
  });

  it('token vectors: one per token, padding dropped', async () => {
    const enc = await OnnxTokenEncoder.load(dir, { normalize: false });
    const r = await enc.encodeTokens(TEXTS, { role: 'document' });
    const tok = enc.model.tokenizer;
    for (const [i, text] of TEXTS.entries()) expect(r.offsets[i + 1]! - r.offsets[i]!).toBe(tok.encode(text, { maxLength: 64 }).length);
    expect(r.data.length).toBe(r.offsets[TEXTS.length]! * 2);
  });

  it('fp16 outputs are converted (Uint16 half bits -> float)', async () => {
    const d16 = folder(distilbertWithHidden(DataType.FLOAT16), { pooling: 'mean', normalize: false });
    const e16 = await OnnxEncoder.load(d16);
    const e32 = await OnnxEncoder.load(dir);
    const a = await e16.encode(TEXTS, { role: 'document' });
    const b = await e32.encode(TEXTS, { role: 'document' });
    expect(maxAbsDiff(a.data, b.data)).toBeLessThan(2e-3);
  });

  it('loads models whose weights sit in an external data file', async () => {
    const { model, data } = toExternalData(distilbertWithHidden(), 'model.onnx_data', 1024);
    expect(data.length).toBeGreaterThan(30522 * 2 * 4);
    const ext = folder(model, { pooling: 'mean', normalize: false, maxLength: 64 });
    writeFileSync(join(ext, 'model.onnx_data'), data);
    const a = await (await OnnxEncoder.load(ext)).encode(TEXTS, { role: 'document' });
    const b = await (await OnnxEncoder.load(dir)).encode(TEXTS, { role: 'document' });
    expect(maxAbsDiff(a.data, b.data)).toBe(0);
    const { rmSync } = await import('node:fs');
    rmSync(join(ext, 'model.onnx_data'));
    await expect(OnnxEncoder.load(ext)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('honours an AbortSignal between batches', async () => {
    const enc = await OnnxEncoder.load(dir, { batchSize: 1 });
    const controller = new AbortController();
    controller.abort();
    await expect(enc.encode(TEXTS, { role: 'document', signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('loadEncoder gives text and token vectors from an ONNX folder', async () => {
    const enc = await loadEncoder(dir);
    expect(enc.dim).toBe(2);
    expect(typeof enc.encodeTokens).toBe('function');
  });
});

describe('bad model folders fail with MODEL_INVALID naming the file and what was expected', () => {
  const expectInvalid = async (p: Promise<unknown>, pattern: RegExp): Promise<void> => {
    const error = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as QuarryError | undefined;
    expect(error, 'expected a rejection').toBeInstanceOf(QuarryError);
    expect(error!.code).toBe('MODEL_INVALID');
    expect(error!.message).toMatch(pattern);
  };

  it('missing tokenizer.json', async () => {
    await expectInvalid(OnnxEncoder.load(folder(distilbertWithHidden(), undefined, false)), /tokenizer\.json: missing/);
  });

  it('missing model.onnx', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'm'));
    await expectInvalid(OnnxEncoder.load(join(dir, 'm')), /model\.onnx: missing/);
  });

  it('a logits-only export: no usable output', async () => {
    await expectInvalid(
      OnnxEncoder.load(folder(new Uint8Array(readFileSync(DISTILBERT)))),
      /no output usable for text vectors: expected one of last_hidden_state, token_embeddings.*logits \[batch, 2\].*exposeGraphOutput/,
    );
  });

  it('output of unexpected rank', async () => {
    await expectInvalid(
      OnnxEncoder.load(folder(new Uint8Array(readFileSync(DISTILBERT)), { output: 'logits', pooling: 'mean' })),
      /output "logits" has rank 2 .* expects rank 3 \(\[batch, sequence, hidden\]\)/,
    );
    await expectInvalid(OnnxTokenEncoder.load(folder(new Uint8Array(readFileSync(DISTILBERT)), { tokenOutput: 'logits' })), /output "logits" has rank 2/);
  });

  it('a configured output that does not exist', async () => {
    await expectInvalid(OnnxEncoder.load(folder(distilbertWithHidden(), { output: 'pooled' })), /no output named "pooled"/);
  });

  it('wrong input names', async () => {
    const g = new GraphBuilder();
    g.input('ids', DataType.INT64, ['batch', 'sequence']);
    g.node('Cast', ['ids'], { to: DataType.FLOAT }, ['y']);
    g.output('y', DataType.FLOAT, ['batch', 'sequence']);
    await expectInvalid(OnnxEncoder.load(folder(g.build())), /has no graph input "input_ids" \(its inputs: ids\); expected input_ids \[batch, sequence\]/);
    const g2 = new GraphBuilder();
    g2.input('input_ids', DataType.INT64, ['batch', 'sequence']);
    g2.input('pixel_values', DataType.INT64, ['batch', 'sequence']);
    g2.node('Add', ['input_ids', 'pixel_values'], {}, ['y']);
    g2.output('y', DataType.INT64, ['batch', 'sequence']);
    await expectInvalid(OnnxEncoder.load(folder(g2.build())), /unexpected graph input "pixel_values"/);
  });

  it('wrong input dtype', async () => {
    const g = new GraphBuilder();
    g.input('input_ids', DataType.FLOAT, ['batch', 'sequence']);
    g.node('Unsqueeze', ['input_ids', g.ints([-1])], {}, ['last_hidden_state']);
    g.output('last_hidden_state', DataType.FLOAT, ['batch', 'sequence', 1]);
    await expectInvalid(OnnxEncoder.load(folder(g.build())), /graph input "input_ids" has type float32; expected int64/);
  });

  it('wrong output dtype', async () => {
    const g = new GraphBuilder();
    g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
    g.node('Unsqueeze', ['input_ids', g.ints([-1])], {}, ['last_hidden_state']);
    g.output('last_hidden_state', DataType.INT64, ['batch', 'sequence', 1]);
    await expectInvalid(OnnxEncoder.load(folder(g.build())), /output "last_hidden_state" has type int64; expected float32 or float16/);
  });

  it('a file that is not ONNX, and a broken config', async () => {
    await expectInvalid(OnnxEncoder.load(folder(new TextEncoder().encode('not a model'))), /model\.onnx: onnxruntime could not load it/);
    await expectInvalid(OnnxEncoder.load(folder(distilbertWithHidden(), { pooling: 'maximum' })), /quarry-encoder\.json: invalid encoder config \(pooling/);
  });
});
