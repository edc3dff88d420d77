import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { numericGrad } from '../../../tools/testing/finite-difference.js';
import { SeededRandom, type RaggedMatrix } from '@quarry/core';
import { bundledModelDir, ContextualModel, loadEncoder, mappingFromKeptIds, StaticModel, type TrainableModel } from '@quarry/encoders';
import { Gemm, maxSimInfoNce, maxSimInfoNceSync, trainTokenModel } from '../src/index.js';

function ragged(lengths: number[], dim: number, rng: SeededRandom): RaggedMatrix {
  const offsets = Int32Array.from([0, ...lengths.map((_, i) => lengths.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
  const data = new Float32Array(offsets[lengths.length]! * dim).map(() => rng.normal());
  return { dim, offsets, data };
}

const close = (a: number, n: number, rel = 2e-3, abs = 2e-6): boolean => Math.abs(a - n) <= abs + rel * Math.max(Math.abs(a), Math.abs(n));

describe('MaxSim InfoNCE (Matryoshka)', () => {
  it('gradients with respect to every query and document token match finite differences', async () => {
    const rng = new SeededRandom(3);
    const queries = ragged([3, 2, 4], 6, rng);
    const docs = ragged([4, 3, 5, 2, 3], 6, rng);
    const exclude = new Uint8Array(3 * 5);
    exclude[1 * 5 + 3] = 1;
    const opts = { temperature: 0.3, dims: [3, 6], dimWeights: [0.5, 1] };
    const result = await maxSimInfoNce({ queries, docs, exclude }, opts);
    let checked = 0;
    for (const [m, grad] of [
      [queries, result.gradQueries],
      [docs, result.gradDocs],
    ] as const) {
      for (let i = 0; i < m.data.length; i++) {
        const n = numericGrad(m.data, i, () => maxSimInfoNceSync({ queries, docs, exclude }, opts).loss, 1e-3);
        expect(close(grad[i]!, n), `entry ${i}: analytic ${grad[i]} vs numeric ${n}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(queries.data.length + docs.data.length);
  });

  it('the onnxruntime GEMM path gives the same loss and gradients as plain JavaScript', async () => {
    const rng = new SeededRandom(9);
    const queries = ragged([5, 7, 3, 6], 16, rng);
    const docs = ragged([20, 11, 30, 9, 14, 25, 8, 17], 16, rng);
    const gemm = new Gemm(1);
    const a = await maxSimInfoNce({ queries, docs }, { temperature: 0.05, dims: [8, 16] });
    const b = await maxSimInfoNce({ queries, docs }, { temperature: 0.05, dims: [8, 16], gemm });
    await gemm.release();
    expect(b.loss).toBeCloseTo(a.loss, 4);
    expect(Math.max(...a.gradDocs.map((v, i) => Math.abs(v - b.gradDocs[i]!)))).toBeLessThan(1e-4);
  });
});

function tinyModel(kind: 'static' | 'contextual', rng: SeededRandom): TrainableModel {
  const vocabSize = 30;
  const { mapping } = mappingFromKeptIds(vocabSize, [1, 2, 3, 5, 7, 8, 9, 11, 12, 13, 17, 19, 20, 21, 25, 29]);
  const base = StaticModel.random({ type: 'static', dim: 6, rows: 16, vocabSize, learnWeights: true, tfExponent: 0.6 }, mapping, rng);
  for (let r = 0; r < 16; r++) base.weights[r] = 0.5 + rng.next();
  if (kind === 'static') return base;
  const c = ContextualModel.init(base, 4, 3, rng);
  for (let i = 0; i < c.Q.length; i++) c.Q[i] = rng.normal() * 0.5;
  for (let i = 0; i < c.b.length; i++) c.b[i] = rng.normal() * 0.1;
  return c;
}

for (const kind of ['static', 'contextual'] as const) {
  describe(`${kind} model as a token encoder: backwardTokens`, () => {
    it('parameter gradients of the MaxSim loss match finite differences', async () => {
      const rng = new SeededRandom(kind === 'static' ? 5 : 6);
      const model = tinyModel(kind, rng);
      const seq = (n: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(30));
      const qs = [seq(3), seq(4)];
      const ds = [seq(5), Int32Array.of(1, 2, 1, 1, 3), seq(4)];
      const opts = { temperature: 0.5, dims: [3, 6] };
      const run = async (backward: boolean): Promise<number> => {
        const enc = (seqs: Int32Array[]) => {
          const outs = seqs.map((s) => model.forwardTokens(s));
          const offsets = Int32Array.from([0, ...seqs.map((_, i) => seqs.slice(0, i + 1).reduce((a, s) => a + s.length, 0))]);
          const data = new Float32Array(offsets[seqs.length]! * 6);
          outs.forEach((o, i) => data.set(o.tokens, offsets[i]! * 6));
          return { outs, m: { dim: 6, offsets, data } };
        };
        const q = enc(qs);
        const k = enc(ds);
        const r = await maxSimInfoNce({ queries: q.m, docs: k.m }, opts);
        if (backward) {
          q.outs.forEach((o, i) => model.backwardTokens(o.cache, r.gradQueries.subarray(q.m.offsets[i]! * 6, q.m.offsets[i + 1]! * 6)));
          k.outs.forEach((o, j) => model.backwardTokens(o.cache, r.gradDocs.subarray(k.m.offsets[j]! * 6, k.m.offsets[j + 1]! * 6)));
        }
        return r.loss;
      };
      const params = model.params();
      for (const p of params) p.grad.fill(0);
      await run(true);
      const analytic = params.map((p) => Float64Array.from(p.grad));
      let checked = 0;
      for (const [pi, p] of params.entries()) {
        for (let i = 0; i < p.value.length; i++) {
          const h = 1e-3 * Math.max(0.1, Math.abs(p.value[i]!));
          const orig = p.value[i]!;
          p.value[i] = orig + h;
          const up = p.value[i]!;
          const fu = await run(false);
          p.value[i] = orig - h;
          const down = p.value[i]!;
          const fd = await run(false);
          p.value[i] = orig;
          const num = (fu - fd) / (up - down);
          // Token vectors leave the model as float32, so differences carry ~1e-7/h noise: 1% / 3e-5.
          expect(close(analytic[pi]![i]!, num, 1e-2, 3e-5), `${p.name}[${i}]: analytic ${analytic[pi]![i]} vs numeric ${num}`).toBe(true);
          checked++;
        }
      }
      expect(checked).toBe(params.reduce((s, p) => s + p.value.length, 0));
    });
  });
}

describe('trainTokenModel', () => {
  it('is deterministic for a seed and saves a folder ColBERT can load as a token encoder', async () => {
    const examples = [
      { query: 'vitamin d lowers tuberculosis risk', positive: 'Vitamin D deficiency and tuberculosis: a cohort study.', negatives: ['Aspirin reduces the risk of stroke in older adults.'] },
      { query: 'aspirin prevents stroke', positive: 'Aspirin reduces the risk of stroke in older adults.', negatives: ['Statins lower LDL cholesterol.'] },
      { query: 'statins and cholesterol', positive: 'Statins lower LDL cholesterol.', negatives: ['Vitamin D deficiency and tuberculosis: a cohort study.'] },
    ];
    const out = join(mkdtempSync(join(tmpdir(), 'quarry-token-model-')), 'm');
    const train = (dir?: string) =>
      trainTokenModel({
        init: bundledModelDir('scifact-static'),
        contextual: { hidden: 4, kernel: 3 },
        examples,
        steps: 4,
        batchSize: 2,
        seed: 7,
        threads: 1,
        dims: [32, 64],
        ...(dir ? { out: dir } : {}),
      });
    const a = await train(out);
    const b = await train();
    expect(a.losses).toEqual(b.losses);
    expect(a.losses.every(Number.isFinite)).toBe(true);
    const encoder = await loadEncoder(out);
    const tokens = await encoder.encodeTokens!(['aspirin prevents stroke'], { role: 'query' });
    expect(tokens.offsets[1]).toBeGreaterThan(0);
    expect(tokens.dim).toBe(256);
  });
});
