import { SeededRandom } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { DrtModel, gcaBackward, gcaForward, passkeyExample, type ChunkKV, type DrtConfig, type GcaConfig, type GcaInput } from '../src/index.js';

function randArray(rng: SeededRandom, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/** Central finite difference of f at a[i]. */
function fd(a: Float32Array, i: number, f: () => number, eps = 1e-3): number {
  const keep = a[i]!;
  a[i] = keep + eps;
  const up = f();
  a[i] = keep - eps;
  const down = f();
  a[i] = keep;
  return (up - down) / (2 * eps);
}

function expectClose(analytic: number, numeric: number, label: string): void {
  const tol = 2e-3 + 2e-2 * Math.max(Math.abs(analytic), Math.abs(numeric));
  if (Math.abs(analytic - numeric) > tol) throw new Error(`${label}: analytic ${analytic} vs numeric ${numeric}`);
}

describe('GCA operator gradients (finite differences)', () => {
  const config: GcaConfig = { heads: 4, headDim: 3, groups: 2, relDim: 4, topK: 2 };
  const width = config.heads * config.headDim;
  const rng = new SeededRandom(7);
  const chunks = 6;
  const len = 5;
  const T = 7;
  const q = randArray(rng, T * width);
  const qChunk = Int32Array.from([2, 3, 3, 4, 5, 5, 1]);
  const lq = randArray(rng, chunks * config.groups * config.relDim);
  const lk = randArray(rng, chunks * config.groups * config.relDim);
  const ks = Array.from({ length: chunks }, () => randArray(rng, len * width));
  const vs = Array.from({ length: chunks }, () => randArray(rng, len * width));
  const sink = randArray(rng, config.heads, 0.5);
  const R = randArray(rng, T * width);
  const input = (): GcaInput => ({ q, qChunk, lq, lk, landmarks: chunks, kv: (j): ChunkKV => ({ k: ks[j]!, v: vs[j]!, length: len }), sink });
  const loss = (): number => {
    const { out } = gcaForward(input(), config);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i]! * R[i]!;
    return s;
  };
  const { cache } = gcaForward(input(), config);
  const grads = gcaBackward(cache, R);

  it('matches for queries, landmark queries/keys (through the relevance weights), keys, values and the sink', () => {
    for (let i = 0; i < q.length; i++) expectClose(grads.dq[i]!, fd(q, i, loss), `dq[${i}]`);
    let nonzero = 0;
    for (let i = 0; i < lq.length; i++) {
      expectClose(grads.dlq[i]!, fd(lq, i, loss), `dlq[${i}]`);
      expectClose(grads.dlk[i]!, fd(lk, i, loss), `dlk[${i}]`);
      if (Math.abs(grads.dlk[i]!) > 1e-3) nonzero++;
    }
    expect(nonzero).toBeGreaterThan(4);
    for (let j = 0; j < chunks; j++) {
      const d = grads.dkv.get(j);
      for (let i = 0; i < len * width; i++) {
        expectClose(d?.dk[i] ?? 0, fd(ks[j]!, i, loss), `dk[${j}][${i}]`);
        expectClose(d?.dv[i] ?? 0, fd(vs[j]!, i, loss), `dv[${j}][${i}]`);
      }
    }
    for (let h = 0; h < config.heads; h++) expectClose(grads.dsink[h]!, fd(sink, h, loss), `dsink[${h}]`);
  });
});

describe('DRT model gradients (finite differences)', () => {
  const config: DrtConfig = { vocab: 32, dim: 8, heads: 2, window: 6, chunk: 7, overlap: 2, lookback: 2, groups: 2, relDim: 3, topK: 2, relValues: 1 };
  const model = DrtModel.init(config, 3);
  // Larger random values everywhere so that no gradient is trivially zero.
  const rng = new SeededRandom(11);
  for (let i = 0; i < model.params.length; i++) model.params[i]! += rng.normal() * 0.3;
  model.invalidate();
  const ex = passkeyExample(new SeededRandom(6), 52, { keyStart: 12 });
  const tokens = new Uint8Array(56);
  tokens.set(ex.tokens);
  tokens.set(ex.key.subarray(0, 4), 52);
  const lossOf = (): number => {
    model.invalidate();
    const g = new Float32Array(model.params.length);
    return model.sequenceGrad(tokens, ex.key, g, model.newTableGrad()).loss;
  };
  it('matches for every parameter of the lower layer, chunk encoder, local attention, GCA and head', () => {
    const grad = new Float32Array(model.params.length);
    const dqk = model.newTableGrad();
    const r = model.sequenceGrad(tokens, ex.key, grad, dqk);
    model.finishBackward(dqk, grad);
    expect(r.retrievals.length).toBeGreaterThan(0);
    let checked = 0;
    for (let i = 0; i < model.params.length; i++) {
      expectClose(grad[i]!, fd(model.params, i, lossOf, 2e-3), `param ${i}`);
      checked++;
    }
    expect(checked).toBe(model.params.length);
  });
});
