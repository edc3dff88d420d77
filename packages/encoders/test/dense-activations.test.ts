import { describe, expect, it } from 'vitest';
import { applyDense, type DenseActivation } from '../src/index.js';

// torch.nn.GELU() (exact, erf form: what sentence-transformers' Dense with activation GELU runs),
// computed in float64 by torch 2.13 on these inputs rounded to float32 (what applyDense receives). A tanh approximation would be off by up to 5e-4.
// biome-ignore lint/suspicious/noApproximativeNumericConstant: 0.7071 is a test input, not meant to be 1/sqrt(2)
const X = [-6.0, -3.2, -2.5, -2.4999, -1.0, -0.3, -0.0001, 0.0, 0.2, 0.7071, 1.5, 2.5, 3.9, 8.0];
const TORCH_GELU = [
  -5.919525869479969e-9, -0.0021988410703130787, -0.015524163314440398, -0.015527920935284904, -0.15865525393145702, -0.11462657653421583, -4.999600931429796e-5, 0.0, 0.11585194384722869,
  0.5375712166881731, 1.399789198096713, 2.4844758366855597, 3.8998125196950624, 7.999999999999995,
];

/** One Dense layer that is the identity matrix, so the output is the activation of each input. */
function activateAll(activation: DenseActivation, xs: number[]): Float32Array {
  const n = xs.length;
  const weight = new Float32Array(n * n);
  for (let i = 0; i < n; i++) weight[i * n + i] = 1;
  return applyDense([{ inFeatures: n, outFeatures: n, weight, bias: undefined, activation, path: 'test' }], Float32Array.from(xs), 1, n).data;
}

describe('Dense activations as sentence-transformers runs them', () => {
  it('GELU is the exact erf form of torch.nn.GELU (to float32 rounding) on both sides of the series/continued-fraction switch', () => {
    const got = activateAll('gelu', X);
    X.forEach((_, i) => expect(Math.abs(got[i]! - TORCH_GELU[i]!)).toBeLessThanOrEqual(Math.abs(TORCH_GELU[i]!) * 2 ** -24));
  });

  it('Tanh, ReLU, Sigmoid and Identity are the plain functions', () => {
    const xs = [-2, -0.5, 0, 0.5, 2];
    const f32 = (v: number) => Math.fround(v);
    expect([...activateAll('tanh', xs)]).toEqual(xs.map((x) => f32(Math.tanh(x))));
    expect([...activateAll('relu', xs)]).toEqual(xs.map((x) => f32(Math.max(0, x))));
    expect([...activateAll('sigmoid', xs)]).toEqual(xs.map((x) => f32(1 / (1 + Math.exp(-x)))));
    expect([...activateAll('identity', xs)]).toEqual(xs);
  });
});
