import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DimensionMismatchError, InputError, type RaggedMatrix } from '@quarry/core';
import { maxSim, maxSimAlignment, sliceItem, truncateTokens } from '../src/index.js';

const ragged = (dim: number, items: number[][][]): RaggedMatrix => {
  const offsets = new Int32Array(items.length + 1);
  items.forEach((tokens, i) => (offsets[i + 1] = offsets[i]! + tokens.length));
  return { dim, offsets, data: Float32Array.from(items.flat(2)) };
};

/** Independent reference: the formula as written, in doubles. */
function reference(q: number[][], d: number[][]): number {
  if (d.length === 0) return 0;
  return q.reduce((sum, qi) => sum + Math.max(...d.map((dj) => dj.reduce((s, v, k) => s + v * qi[k]!, 0))), 0);
}

const vec = (dim: number) => fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: dim, maxLength: dim });

describe('maxSim', () => {
  it('equals the reference formula (property, any dim including non-multiples of 4)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }).chain((dim) => fc.tuple(fc.constant(dim), fc.array(vec(dim), { minLength: 1, maxLength: 6 }), fc.array(vec(dim), { maxLength: 8 }))),
        ([dim, q, d]) => {
          const qs = ragged(dim, [q]);
          const ds = ragged(dim, [[], d]);
          expect(maxSim(qs, 0, ds, 1)).toBeCloseTo(reference(q, d), 4);
          expect(maxSim(qs, 0, ds, 0)).toBe(0);
        },
      ),
    );
  });

  it('a hand-computed case, and the alignment names the best document token per query token', () => {
    const q = ragged(2, [
      [
        [1, 0],
        [0, 1],
      ],
    ]);
    const d = ragged(2, [
      [
        [0.6, 0.8],
        [1, 0],
        [0, -1],
      ],
    ]);
    expect(maxSim(q, 0, d, 0)).toBeCloseTo(1 + 0.8, 6);
    const a = maxSimAlignment(q, 0, d, 0);
    expect([...a.docToken]).toEqual([1, 0]);
    expect([...a.similarity].map((s) => Number(s.toFixed(6)))).toEqual([1, 0.8]);
  });

  it('rejects mismatched dimensions and out-of-range items', () => {
    expect(() => maxSim(ragged(2, [[[1, 0]]]), 0, ragged(3, [[[1, 0, 0]]]), 0)).toThrow(DimensionMismatchError);
    expect(() => maxSim(ragged(2, [[[1, 0]]]), 0, ragged(2, [[[1, 0]]]), 5)).toThrow(InputError);
  });
});

describe('Matryoshka truncation', () => {
  it('keeps a re-normalised prefix of every token vector', () => {
    const m = ragged(4, [
      [[3, 4, 5, 6]],
      [
        [0, 2, 1, 1],
        [1, 0, 0, 0],
      ],
    ]);
    const t = truncateTokens(m, 2);
    expect(t.dim).toBe(2);
    expect([...t.data].map((v) => Number(v.toFixed(6)))).toEqual([0.6, 0.8, 0, 1, 1, 0]);
    expect([...t.offsets]).toEqual([0, 1, 3]);
    expect(truncateTokens(m, 4)).toBe(m);
    expect(() => truncateTokens(m, 5)).toThrow(/1\.\.4/);
    expect(sliceItem(t, 1)).toEqual({ dim: 2, offsets: Int32Array.of(0, 2), data: Float32Array.of(0, 1, 1, 0) });
  });
});
