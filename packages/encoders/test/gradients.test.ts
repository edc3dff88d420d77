import { describe, expect, it } from 'vitest';
import { numericGrad } from '../../../tools/testing/finite-difference.js';
import { SeededRandom as Rng } from '@quarry/core';
import { Adam, ContextualModel, StaticModel, matryoshkaInfoNce, mappingFromKeptIds, trainStep, type TrainableModel, type TrainingExample } from '../src/index.js';

function expectClose(analytic: number, numeric: number, rel = 1e-4, abs = 1e-7): void {
  expect(Math.abs(analytic - numeric), `analytic ${analytic} vs numeric ${numeric}`).toBeLessThanOrEqual(abs + rel * Math.max(Math.abs(analytic), Math.abs(numeric)));
}

describe('matryoshkaInfoNce gradients', () => {
  it('match central finite differences (two prefix dims, weights, an excluded duplicate)', () => {
    const rng = new Rng(1);
    const B = 3;
    const M = 6;
    const dim = 8;
    const queries = Float64Array.from({ length: B * dim }, () => rng.normal());
    const docs = Float64Array.from({ length: M * dim }, () => rng.normal());
    const exclude = new Uint8Array(B * M);
    exclude[0 * M + 4] = 1; // doc 4 duplicates query 0's positive
    const opts = { temperature: 0.1, dims: [4, 8], dimWeights: [1, 0.5] };
    const r = matryoshkaInfoNce({ queries, docs, B, M, dim, exclude }, opts);
    expect(r.perDim).toHaveLength(2);
    expect(r.loss).toBeCloseTo(r.perDim[0]! + 0.5 * r.perDim[1]!, 12);
    const loss = (): number => matryoshkaInfoNce({ queries, docs, B, M, dim, exclude }, opts).loss;
    for (let i = 0; i < queries.length; i++) expectClose(r.gradQueries[i]!, numericGrad(queries, i, loss, 1e-6), 1e-6, 1e-9);
    for (let i = 0; i < docs.length; i++) expectClose(r.gradDocs[i]!, numericGrad(docs, i, loss, 1e-6), 1e-6, 1e-9);
  });

  it('the excluded column does not count; the loss equals -log softmax by hand', () => {
    const queries = Float64Array.of(1, 0);
    const docs = Float64Array.of(1, 0, 0, 1, 1, 0);
    const base = matryoshkaInfoNce({ queries, docs, B: 1, M: 3, dim: 2 }, { temperature: 1, dims: [2] });
    const e = Math.E;
    expect(base.loss).toBeCloseTo(-Math.log(e / (e + 1 + e)), 12);
    const excl = matryoshkaInfoNce({ queries, docs, B: 1, M: 3, dim: 2, exclude: Uint8Array.of(0, 0, 1) }, { temperature: 1, dims: [2] });
    expect(excl.loss).toBeCloseTo(-Math.log(e / (e + 1)), 12);
  });
});

/** A small model and a batch of token sequences (texts are keys into `seqs`). */
function setup(kind: 'static' | 'contextual', tf = 1): { model: TrainableModel; batch: TrainingExample[]; tokenize: (t: string) => Int32Array } {
  const rng = new Rng(7);
  const vocabSize = 30;
  const { mapping } = mappingFromKeptIds(vocabSize, [1, 2, 3, 5, 7, 8, 9, 11, 12, 13, 17, 19, 20, 21, 25, 29]);
  const rows = 16;
  const dim = 6;
  const base = StaticModel.random({ type: 'static', dim, rows, vocabSize, learnWeights: true, tfExponent: tf }, mapping, rng);
  for (let r = 0; r < rows; r++) base.weights[r] = 0.5 + rng.next();
  let model: TrainableModel = base;
  if (kind === 'contextual') {
    const c = ContextualModel.init(base, 4, 3, rng);
    for (let i = 0; i < c.Q.length; i++) c.Q[i] = rng.normal() * 0.5; // non-zero so every path carries gradient
    for (let i = 0; i < c.b.length; i++) c.b[i] = rng.normal() * 0.1;
    model = c;
  }
  const seqs = new Map<string, Int32Array>();
  const text = (name: string, n: number): string => {
    seqs.set(
      name,
      Int32Array.from({ length: n }, () => rng.int(vocabSize)),
    ); // includes unmapped ids
    return name;
  };
  seqs.set('rep', Int32Array.of(1, 2, 1, 1, 3, 2, 29, 1)); // repeated tokens (term frequency > 1)
  const batch: TrainingExample[] = [
    { query: text('q0', 3), positive: text('p0', 7), negatives: [text('n0', 5)] },
    { query: text('q3', 5), positive: 'rep', negatives: ['n0'] },
    { query: text('q1', 1), positive: text('p1', 4), negatives: [text('n1', 6)] },
    { query: text('q2', 4), positive: 'p0', negatives: [text('n2', 2)] }, // shares q0's positive -> excluded
  ];
  return { model, batch, tokenize: (t) => seqs.get(t)! };
}

for (const [kind, tf] of [
  ['static', 1],
  ['static', 0.6],
  ['contextual', 1],
  ['contextual', 0.6],
] as const) {
  describe(`${kind} model (tf exponent ${tf}) gradients through pooling, Matryoshka InfoNCE and hard negatives`, () => {
    it('match central finite differences for every parameter', () => {
      const { model, batch, tokenize } = setup(kind, tf);
      const params = model.params();
      const dims = [3, 6];
      const step = (): number => trainStep(model, batch, tokenize, 1, 0.2, dims).loss;
      for (const p of params) p.grad.fill(0);
      step();
      const analytic = params.map((p) => Float64Array.from(p.grad));
      const loss = (): number => {
        const v = step();
        for (const p of params) p.grad.fill(0);
        return v;
      };
      let checked = 0;
      for (const [k, p] of params.entries()) {
        for (let i = 0; i < p.value.length; i++) {
          const num = numericGrad(p.value, i, loss, 1e-3 * Math.max(0.1, Math.abs(p.value[i]!)));
          expectClose(analytic[k]![i]!, num, 2e-3, 2e-6);
          checked++;
        }
      }
      expect(checked).toBe(params.reduce((s, p) => s + p.value.length, 0));
      // Only rows of tokens that occur get gradient (sparse rows are tracked).
      const emb = params.find((p) => p.name === 'embeddings')!;
      expect(emb.sparse!.list.length).toBeGreaterThan(0);
    });
  });
}

describe('Adam', () => {
  it('matches the textbook update (dense) and touches only marked rows (sparse)', () => {
    const value = Float32Array.of(1, -2);
    const grad = Float32Array.of(0.5, -1);
    const adam = new Adam([{ name: 'x', shape: [2], value, grad }], { lr: 0.1 });
    adam.step();
    // t=1: m = 0.1 g, v = 0.001 g^2 -> mhat = g, vhat = g^2 -> x -= lr * g / (|g| + eps)
    expect(value[0]).toBeCloseTo(1 - 0.1, 6);
    expect(value[1]).toBeCloseTo(-2 + 0.1, 6);
    expect(Array.from(grad)).toEqual([0, 0]);
    const { mapping } = mappingFromKeptIds(4, [0, 1, 2, 3]);
    const m = new StaticModel({ type: 'static', dim: 2, rows: 4, vocabSize: 4, learnWeights: false }, mapping, Float32Array.of(1, 1, 2, 2, 3, 3, 4, 4));
    const [emb] = m.params();
    const sparse = new Adam([emb!], { lr: 0.1 });
    m.backward(m.forwardTrain(Int32Array.of(2)), Float64Array.of(1, 1));
    sparse.step();
    expect(Array.from(m.embeddings)).toEqual([1, 1, 2, 2, expect.closeTo(2.9, 6), expect.closeTo(2.9, 6), 4, 4]);
  });
});
