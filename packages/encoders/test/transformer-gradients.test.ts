import { describe, expect, it } from 'vitest';
import { SeededRandom } from '@quarry/core';
import { TransformerModel, TransformerRuntime, accumulateGradients, padBatch, weightsOf, type TransformerConfig, type TransformerWeights } from '../src/transformer/model.js';
import { denseParamShapes } from '../src/transformer/graph.js';

// A small encoder in float64 (onnxruntime runs the same graphs in double): every layer
// type's analytic gradient (embeddings, LayerNorm, attention with a padding mask, FFN with
// GELU, mean pooling, ColBERT projection) against central finite differences.
const config: TransformerConfig = { hidden: 8, layers: 2, heads: 2, intermediate: 12, colbertDim: 4, layerNormEps: 1e-5, vocabSize: 40, maxPositions: 8, typeVocabSize: 2 };
// Lengths 5, 3, 6: rows 0 and 1 are padded, so masked keys and padded rows are exercised.
const seqs = [Int32Array.of(2, 7, 9, 7, 3), Int32Array.of(2, 11, 3), Int32Array.of(2, 5, 6, 13, 21, 3)];

function upstream(n: number, seed: number): Float64Array {
  const r = new SeededRandom(seed);
  return Float64Array.from({ length: n }, () => r.normal());
}

describe('transformer gradients (float64, finite differences)', () => {
  it('matches central differences for every parameter kind', async () => {
    const model = TransformerModel.init(config, { seed: 7, initStd: 0.4 });
    const rt = await TransformerRuntime.create(config, { precision: 'float64', threads: 1 });
    const batch = padBatch(seqs);
    const { B, L } = batch;
    const d = config.hidden;
    const up = { pooled: upstream(B * d, 1), hidden: upstream(B * L * d, 2), colbert: upstream(B * L * config.colbertDim, 3) };
    const lossOf = async (w: TransformerWeights): Promise<number> => {
      const f = await rt.forward(w, batch);
      let s = 0;
      for (let i = 0; i < f.pooled.length; i++) s += f.pooled[i]! * up.pooled[i]!;
      for (let i = 0; i < f.hidden.length; i++) s += f.hidden[i]! * up.hidden[i]!;
      for (let i = 0; i < f.colbert!.length; i++) s += f.colbert![i]! * up.colbert[i]!;
      return s;
    };
    const w = weightsOf(model, 'float64');
    const fw = await rt.forward(w, batch);
    const grads = await rt.backward(w, fw, up);
    // Scatter through the same code as training (into float32 Param grads), then compare.
    const params = model.params();
    accumulateGradients(params, batch, grads, d);
    const analytic = new Map(params.map((p) => [p.name, p.grad]));
    // Gradients in float64 straight from the graph for the dense parameters (the float32 copy rounds).
    for (const [k, v] of grads.dense) analytic.set(k, v as unknown as Float32Array);
    const eps = 1e-5;
    const rng = new SeededRandom(11);
    let worst = 0;
    const checked: string[] = [];
    const check = async (name: string, arr: Float64Array, index: number): Promise<void> => {
      const old = arr[index]!;
      arr[index] = old + eps;
      const up1 = await lossOf(w);
      arr[index] = old - eps;
      const down = await lossOf(w);
      arr[index] = old;
      const numeric = (up1 - down) / (2 * eps);
      const a = analytic.get(name)![index]!;
      const err = Math.abs(numeric - a) / Math.max(1, Math.abs(numeric));
      worst = Math.max(worst, err);
      expect(err, `${name}[${index}]: analytic ${a}, numeric ${numeric}`).toBeLessThan(1e-6);
    };
    for (const [name, shape] of denseParamShapes(config)) {
      const arr = w.dense.get(name) as Float64Array;
      const n = shape.reduce((x, y) => x * y, 1);
      for (let k = 0; k < 4; k++) await check(name, arr, rng.int(n));
      checked.push(name);
    }
    // Embeddings: rows of tokens in the batch (token 7 occurs twice), positions (incl. 5, only in row 2), type 0.
    for (const id of [2, 7, 21]) for (const j of [0, 5]) await check('emb.tok', w.tok as Float64Array, id * d + j);
    for (const l of [0, 4, 5]) await check('emb.pos', w.pos as Float64Array, l * d + 3);
    await check('emb.type', w.type as Float64Array, 1);
    // An id outside the batch gets no gradient and no touched row.
    expect(analytic.get('emb.tok')![30 * d]).toBe(0);
    expect(params[0]!.sparse!.list.sort((a, b) => a - b)).toEqual([2, 3, 5, 6, 7, 9, 11, 13, 21]);
    expect(checked).toHaveLength(12 * config.layers + 1);
    expect(worst).toBeLessThan(1e-6);
  }, 120_000);

  it('masks padding: a sequence encodes the same alone and in a padded batch', async () => {
    const model = TransformerModel.init(config, { seed: 3, initStd: 0.4 });
    const rt = await TransformerRuntime.create(config, { precision: 'float64', threads: 1, training: false });
    const w = weightsOf(model, 'float64');
    const alone = await rt.forward(w, padBatch([seqs[1]!]));
    const padded = await rt.forward(w, padBatch(seqs));
    const d = config.hidden;
    for (let j = 0; j < d; j++) expect(Math.abs(padded.pooled[d + j]! - alone.pooled[j]!)).toBeLessThan(1e-12);
  });
});
