import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom as Rng } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import {
  ContextualModel,
  ModelEncoder,
  OnnxEncoder,
  OnnxTokenEncoder,
  StaticModel,
  TextTokenizer,
  exportOnnx,
  importOnnx,
  loadEncoder,
  loadOwnModel,
  mappingFromKeptIds,
  saveModel,
  toExternalData,
  type TrainableModel,
} from '../src/index.js';
import { BERT_TOKENIZER, maxAbsDiff, tempDir } from './helpers.js';

const tokenizer = TextTokenizer.fromDir(BERT_TOKENIZER);
const TEXTS = [
  'Aspirin inhibits platelet aggregation and reduces the risk of myocardial infarction.',
  'BRCA1 mutations increase breast cancer risk',
  'x',
  'The quick brown fox jumps over the lazy dog, then jumps again, and again, and again — seventeen times in all, until the dog finally wakes up.',
  'zygomorphic pneumonoultramicroscopic words and ¿unicode? ☃',
];

/** A random model over the tokens of TEXTS (a pruned vocabulary, like a trained one). */
function makeModel(kind: 'static' | 'contextual', seed = 3, tf = 1): TrainableModel {
  const rng = new Rng(seed);
  const ids = new Set<number>();
  for (const t of TEXTS.slice(0, 4)) for (const id of tokenizer.encode(t, { addSpecialTokens: false })) ids.add(id);
  const { mapping } = mappingFromKeptIds(tokenizer.vocabSize, ids);
  const base = StaticModel.random({ type: 'static', dim: 48, rows: ids.size, vocabSize: tokenizer.vocabSize, learnWeights: true, tfExponent: tf }, mapping, rng);
  for (let r = 0; r < base.weights.length; r++) base.weights[r] = 0.2 + 2 * rng.next();
  if (kind === 'static') return base;
  const c = ContextualModel.init(base, 16, 3, rng);
  for (let i = 0; i < c.Q.length; i++) c.Q[i] = rng.normal() * 0.3;
  for (let i = 0; i < c.b.length; i++) c.b[i] = rng.normal() * 0.2;
  return c;
}

describe("ONNX export of Quarry's own models agrees with the TypeScript runtime", () => {
  for (const kind of ['static', 'contextual'] as const) {
    for (const [precision, tf] of [
      ['fp32', 1],
      ['fp16', 1],
      ['int8', 1],
      ['int8', 0.5],
    ] as const) {
      it(`${kind}, ${precision} table, tf exponent ${tf}: text and token vectors within 1e-5`, async () => {
        const model = makeModel(kind, 3, tf);
        const dir = join(tempDir(), 'model');
        await saveModel(dir, model, { tokenizerDir: BERT_TOKENIZER, precision, maxLength: 64 });
        const ts = await loadOwnModel(dir); // weights read back from model.onnx (dequantised like onnxruntime)
        const onnx = await OnnxEncoder.load(dir, { batchSize: 2 });
        expect(onnx.dim).toBe(48);
        for (const dim of [undefined, 16]) {
          const a = await ts.encode(TEXTS, { role: 'document', dim });
          const b = await onnx.encode(TEXTS, { role: 'document', dim });
          expect(b.cols).toBe(dim ?? 48);
          expect(maxAbsDiff(a.data, b.data)).toBeLessThan(1e-5);
        }
        const tt = await ts.encodeTokens(TEXTS, { role: 'query' });
        const ot = await (await OnnxTokenEncoder.load(dir)).encodeTokens(TEXTS, { role: 'query' });
        expect(Array.from(ot.offsets)).toEqual(Array.from(tt.offsets));
        expect(maxAbsDiff(tt.data, ot.data)).toBeLessThan(1e-5);
        // The exported table is the trained one, up to the chosen precision.
        const tol = precision === 'fp32' ? 0 : precision === 'fp16' ? 2e-3 : 2e-2;
        const base = model instanceof ContextualModel ? model.base : (model as StaticModel);
        const back = ts.model instanceof ContextualModel ? ts.model.base : (ts.model as StaticModel);
        expect(maxAbsDiff(base.embeddings, back.embeddings)).toBeLessThanOrEqual(tol * 4);
      });
    }
  }

  it('the un-exported model and its fp32 export give the same vectors', async () => {
    const model = makeModel('contextual', 9);
    const direct = new ModelEncoder(model, tokenizer, { maxLength: 64 });
    const bytes = exportOnnx(model, { precision: 'fp32' });
    const back = importOnnx(bytes, model.config);
    const again = new ModelEncoder(back, tokenizer, { maxLength: 64 });
    const a = await direct.encode(TEXTS, { role: 'document' });
    const b = await again.encode(TEXTS, { role: 'document' });
    expect(maxAbsDiff(a.data, b.data)).toBe(0);
  });

  it('encodeIds: ids in, optional per-token pooling weights', async () => {
    for (const kind of ['static', 'contextual'] as const) {
      const enc = new ModelEncoder(makeModel(kind), tokenizer, { maxLength: 64 });
      const ids = TEXTS.map((t) => enc.tokenize(t));
      const a = await enc.encode(TEXTS, { role: 'document' });
      expect(maxAbsDiff(enc.encodeIds(ids).data, a.data)).toBeLessThan(1e-6);
      const ones = ids.map((x) => new Float32Array(x.length).fill(1));
      expect(maxAbsDiff(enc.encodeIds(ids, { tokenWeights: ones }).data, a.data)).toBeLessThan(1e-6);
    }
    const enc = new ModelEncoder(makeModel('static'), tokenizer, { maxLength: 64 });
    const ids = enc.tokenize('aspirin reduces platelet aggregation');
    const zeroLast = Float32Array.from(ids, (_, t) => (t === ids.length - 1 ? 0 : 1));
    const masked = enc.encodeIds([ids], { tokenWeights: [zeroLast] });
    const shorter = enc.encodeIds([ids.subarray(0, ids.length - 1)]);
    expect(maxAbsDiff(masked.data, shorter.data)).toBeLessThan(1e-6);
    expect(() => enc.encodeIds([ids], { tokenWeights: [new Float32Array(1)] })).toThrow(/tokenWeights\[0\] has 1 entries/);
  });

  it('reads its weights from external data too', async () => {
    const dir = join(tempDir(), 'model');
    const model = makeModel('contextual');
    await saveModel(dir, model, { tokenizerDir: BERT_TOKENIZER, precision: 'fp32' });
    const before = await (await loadOwnModel(dir)).encode(TEXTS, { role: 'query' });
    const { model: small, data } = toExternalData(readFileSync(join(dir, 'model.onnx')), 'model.onnx_data');
    const { rmSync, writeFileSync } = await import('node:fs');
    rmSync(join(dir, 'manifest.json'));
    writeFileSync(join(dir, 'model.onnx'), small);
    writeFileSync(join(dir, 'model.onnx_data'), data);
    const after = await (await loadOwnModel(dir)).encode(TEXTS, { role: 'query' });
    expect(maxAbsDiff(before.data, after.data)).toBe(0);
    const viaOrt = await (await OnnxEncoder.load(dir)).encode(TEXTS, { role: 'query' });
    expect(maxAbsDiff(before.data, viaOrt.data)).toBeLessThan(1e-5);
  });

  it('saved folders carry a checksummed manifest; loadEncoder picks the TypeScript runtime, or onnxruntime on request', async () => {
    const dir = join(tempDir(), 'model');
    await saveModel(dir, makeModel('static'), { tokenizerDir: BERT_TOKENIZER, matryoshkaDims: [16, 48], name: 'tiny' });
    const config = JSON.parse(readFileSync(join(dir, 'quarry-encoder.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ pooling: 'none', output: 'sentence_embedding', tokenOutput: 'token_embeddings', matryoshkaDims: [16, 48], model: { type: 'static', dim: 48 } });
    expect((await loadEncoder(dir)).constructor.name).toBe('StaticEncoder');
    expect((await loadEncoder(dir, { runtime: 'onnx' })).constructor.name).toBe('OnnxEncoder');
    // A damaged file is caught by the manifest's checksum.
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'model.onnx'), bytes);
    await expect(loadEncoder(dir)).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringMatching(/checksum mismatch for model\.onnx/) });
  });
});
