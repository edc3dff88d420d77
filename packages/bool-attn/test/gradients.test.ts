import { describe, expect, it } from 'vitest';
import { numericGrad } from '../../../tools/testing/finite-difference.js';
import { SeededRandom } from '@quarry/core';
import { BoolModules, type TokenLabels } from '../src/modules.js';

function setup(seed: number) {
  const rng = new SeededRandom(seed);
  const n = 7;
  const din = 5;
  const m = BoolModules.init({ inputDim: din, hidden: 3, temperature: 0.7 }, rng);
  // Move every tensor away from its initial symmetric values so that each gradient path is live.
  for (const p of m.params()) for (let i = 0; i < p.value.length; i++) p.value[i]! += rng.normal() * 0.3;
  m.bc2.value.set([0.5, 0.2, -0.1, 0.3]);
  const f = Float64Array.from({ length: n * din }, () => rng.normal());
  const noise = Float64Array.from({ length: 3 * n * n }, () => {
    const q = Math.min(Math.max(rng.next(), 1e-6), 1 - 1e-6);
    return Math.log(q) - Math.log(1 - q);
  });
  const gw = Float64Array.from({ length: n }, () => rng.normal());
  const labels: TokenLabels = {
    cue: Uint8Array.of(0, 0, 3, 0, 0, 1, 0),
    scopes: [
      { cue: 2, op: 2, scope: Uint8Array.of(0, 0, 0, 1, 1, 0, 0) },
      { cue: 5, op: 0, scope: Uint8Array.of(1, 1, 0, 1, 1, 0, 1) },
    ],
  };
  return { m, f, n, noise, gw, labels };
}

describe('BoolModules gradients', () => {
  it.each([1, 2, 3])('match central finite differences for every parameter (seed %i)', (seed) => {
    const { m, f, n, noise, gw, labels } = setup(seed);
    const weights = { cueWeight: 0.7, scopeWeight: 1.3 };
    const loss = (): number => {
      const fw = m.forward(f, n, noise);
      let l = 0;
      for (let t = 0; t < n; t++) l += gw[t]! * fw.w[t]!;
      return l + m.auxLoss(fw, labels, weights);
    };
    const fw = m.forward(f, n, noise);
    const aux = m.backward(fw, gw, labels, weights);
    expect(aux).toBeCloseTo(m.auxLoss(fw, labels, weights), 10);
    let checked = 0;
    for (const p of m.params()) {
      for (let i = 0; i < p.value.length; i++) {
        const num = numericGrad(p.value, i, loss, 1e-2);
        const ana = p.grad[i]!;
        expect(Math.abs(ana - num), `${p.name}[${i}]: analytic ${ana} vs numeric ${num}`).toBeLessThanOrEqual(2e-3 + 2e-2 * Math.max(Math.abs(ana), Math.abs(num)));
        checked++;
      }
    }
    expect(checked).toBe(m.size);
  });
});

describe('retrievalLoss gradients', () => {
  it('match central finite differences with respect to the pooling weights', async () => {
    const { retrievalLoss } = await import('../src/train.js');
    const rng = new SeededRandom(11);
    const n = 5;
    const dim = 6;
    const docs = 9;
    const x = Float32Array.from({ length: n * dim }, () => rng.normal());
    const D = new Float32Array(docs * dim);
    for (let i = 0; i < docs; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (D[i * dim + j] = rng.normal()) ** 2;
      for (let j = 0; j < dim; j++) D[i * dim + j]! /= Math.sqrt(s);
    }
    const w = Float64Array.from({ length: n }, () => 1 + rng.normal() * 0.5);
    const candidates = Int32Array.of(0, 2, 3, 5, 7, 8);
    const positives = Int32Array.of(3, 7);
    const r = retrievalLoss(x, w, n, dim, D, candidates, positives, 0.2);
    expect(r.loss).toBeGreaterThan(0);
    for (let t = 0; t < n; t++) {
      const h = 1e-6;
      const orig = w[t]!;
      w[t] = orig + h;
      const up = retrievalLoss(x, w, n, dim, D, candidates, positives, 0.2).loss;
      w[t] = orig - h;
      const down = retrievalLoss(x, w, n, dim, D, candidates, positives, 0.2).loss;
      w[t] = orig;
      const num = (up - down) / (2 * h);
      expect(Math.abs(r.gw[t]! - num)).toBeLessThanOrEqual(1e-7 + 1e-5 * Math.abs(num));
    }
  });
});
