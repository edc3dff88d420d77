import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InputError, TopK, reciprocalRankFusion, weightedScoreFusion } from '../src/index.js';

describe('TopK', () => {
  it('returns the k best of any stream, best first, ties to the lower index (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 200 }), fc.integer({ min: 0, max: 20 }), (scores, k) => {
        const heap = new TopK(k);
        scores.forEach((s, i) => heap.push(i, s));
        const { indices, scores: top } = heap.drain();
        const expected = scores
          .map((s, i) => ({ s, i }))
          .sort((a, b) => b.s - a.s || a.i - b.i)
          .slice(0, k);
        expect([...indices]).toEqual(expected.map((e) => e.i));
        expect([...top]).toEqual(expected.map((e) => e.s));
      }),
    );
  });

  it('exposes the entry threshold once full', () => {
    const heap = new TopK(2);
    expect(heap.threshold).toBe(-Infinity);
    heap.push(0, 3);
    heap.push(1, 5);
    heap.push(2, 4);
    expect(heap.threshold).toBe(4);
  });
});

describe('fusion', () => {
  const a = [
    { id: 'x', score: 10 },
    { id: 'y', score: 5 },
  ];
  const b = [
    { id: 'y', score: 0.9 },
    { id: 'z', score: 0.1 },
  ];

  it('RRF sums 1/(k + rank) over rankings', () => {
    const fused = reciprocalRankFusion([a, b], { k: 60 });
    expect(fused.map((h) => h.id)).toEqual(['y', 'x', 'z']);
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 15);
    expect(fused[1]!.score).toBeCloseTo(1 / 61, 15);
  });

  it('weighted fusion min-max normalises each ranking, missing docs take the floor', () => {
    const fused = weightedScoreFusion([a, b], { weights: [0.5, 0.5] });
    // a: x=1, y=0; b: y=1, z=0 -> x=.5, y=.5, z=0 (x before y by id)
    expect(fused).toEqual([
      { id: 'x', score: 0.5 },
      { id: 'y', score: 0.5 },
      { id: 'z', score: 0 },
    ]);
  });

  it('rejects mismatched weights', () => {
    expect(() => reciprocalRankFusion([a, b], { weights: [1] })).toThrow(InputError);
  });
});

import { SeededRandom, hashString } from '../src/index.js';

describe('SeededRandom', () => {
  it('reproduces from a seed and from a saved state', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b.next()));
    const saved = a.state;
    const next = a.next();
    expect(SeededRandom.fromState(saved).next()).toBe(next);
    expect(hashString('abc')).toBe(hashString('abc'));
    expect(hashString('abc')).not.toBe(hashString('abd'));
  });

  it('draws uniforms in [0,1) with mean near 1/2 and normals with unit variance', () => {
    const r = new SeededRandom(7);
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < 20000; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      sum += u;
      const z = r.normal();
      sq += z * z;
    }
    expect(sum / 20000).toBeCloseTo(0.5, 1);
    expect(sq / 20000).toBeCloseTo(1, 1);
  });
});
