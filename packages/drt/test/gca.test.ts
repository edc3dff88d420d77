import { SeededRandom } from '@quarry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gcaForward, retrieve, topK, type ChunkKV, type GcaConfig, type GcaInput } from '../src/index.js';

const config: GcaConfig = { heads: 2, headDim: 2, groups: 1, relDim: 2, topK: 2 };

/** Chunk j has one key/value row; values encode the chunk id so outputs show which chunks were read. */
function input(lkRows: number[][], qChunk: number[], lqRows?: number[][]): GcaInput {
  const n = lkRows.length;
  const kv = (j: number): ChunkKV => ({ k: new Float32Array([0, 0, 0, 0]), v: new Float32Array([j, 1, j, 1]), length: 1 });
  return {
    q: new Float32Array(qChunk.length * 4),
    qChunk: Int32Array.from(qChunk),
    lq: Float32Array.from((lqRows ?? lkRows.map(() => [1, 0])).flat()),
    lk: Float32Array.from(lkRows.flat()),
    landmarks: n,
    kv,
  };
}

describe('GCA operator semantics', () => {
  it('topK returns the k best, best first, ties to the lower index, in linear time for any n', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 0, maxLength: 40 }), fc.integer({ min: 1, max: 10 }), (scores, k) => {
        const got = [...topK(scores.length, k, (j) => scores[j]!)];
        const want = scores
          .map((s, j) => [s, j] as const)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, k)
          .map(([, j]) => j);
        expect(got).toEqual(want);
      }),
    );
  });

  it('chunk c retrieves with the landmark of chunk c - 1 among chunks strictly before c - 1', () => {
    // Landmark queries differ per chunk: chunk 4's query points at [0, 1], others at [1, 0].
    const lk = [
      [5, 0],
      [0, 5],
      [4, 0],
      [0, 4],
      [9, 9],
      [9, 9],
    ];
    const lq = [
      [1, 0],
      [1, 0],
      [1, 0],
      [1, 0],
      [0, 1],
      [1, 0],
    ];
    const inp = input(lk, [5], lq);
    const r = retrieve(inp, config, 5, 0);
    // Chunk 5 uses chunk 4's landmark ([0, 1]) over chunks 0..3: best are 1 (score 5) and 3 (4).
    expect([...r.chunks]).toEqual([1, 3]);
    expect(r.scores[0]).toBeCloseTo(5 / Math.sqrt(2), 6);
    // Chunk 4 itself (and 5) are never candidates although their keys score highest.
    const r4 = retrieve(inp, config, 4, 0);
    expect([...r4.chunks]).toEqual([0, 2]);
    // Chunks 0 and 1 have no earlier chunk to retrieve: output 0.
    expect(retrieve(inp, config, 1, 0).chunks.length).toBe(0);
    const { out } = gcaForward(input(lk, [0, 1]), config);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('weights are the softmax of the k selected raw scores and each chunk is attended separately', () => {
    const lk = [
      [1, 0],
      [3, 0],
      [2, 0],
      [0, 0],
    ];
    const inp = input(lk, [3]);
    const r = retrieve(inp, config, 3, 0);
    expect([...r.chunks]).toEqual([1, 0]);
    const s = [3 / Math.SQRT2, 1 / Math.SQRT2];
    const w0 = Math.exp(s[0]!) / (Math.exp(s[0]!) + Math.exp(s[1]!));
    expect(r.weights[0]).toBeCloseTo(w0, 12);
    const { out } = gcaForward(inp, config);
    // One key per chunk, so each per-chunk attention returns that chunk's value exactly: out = sum_m w_m v_m.
    expect(out[0]).toBeCloseTo(w0 * 1 + (1 - w0) * 0, 6);
    expect(out[1]).toBeCloseTo(1, 6);
  });

  it('Gumbel noise changes the choice (training) but never the weights of the chosen chunks, and no noise without a generator', () => {
    const lk = Array.from({ length: 30 }, (_, j) => [j % 7, 0]);
    const inp = input(lk, [30]);
    const clean = retrieve(inp, config, 30, 0);
    expect(retrieve(inp, config, 30, 0).chunks).toEqual(clean.chunks);
    const rng = new SeededRandom(3);
    let changed = 0;
    for (let i = 0; i < 20; i++) {
      const noisy = retrieve(inp, config, 30, 0, { gumbel: rng });
      if (noisy.chunks.join() !== clean.chunks.join()) changed++;
      const raw = [...noisy.chunks].map((j) => (j % 7) / Math.SQRT2);
      const z = raw.reduce((a, b) => a + Math.exp(b), 0);
      raw.forEach((sc, m) => expect(noisy.weights[m]).toBeCloseTo(Math.exp(sc) / z, 10));
    }
    expect(changed).toBeGreaterThan(5);
  });

  it('groups retrieve independently: heads of group g read group g chunks', () => {
    const cfg: GcaConfig = { heads: 2, headDim: 2, groups: 2, relDim: 1, topK: 1 };
    // Group 0 key prefers chunk 0, group 1 prefers chunk 1.
    const inp: GcaInput = {
      q: new Float32Array(4),
      qChunk: Int32Array.of(3),
      lq: Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1]),
      lk: Float32Array.from([5, 0, 0, 5, 1, 1, 1, 1]),
      landmarks: 4,
      kv: (j) => ({ k: new Float32Array(4), v: new Float32Array([j, j, j, j]), length: 1 }),
    };
    const { out, cache } = gcaForward(inp, cfg);
    const rs = cache.retrievals.get(3)!;
    expect([...rs[0]!.chunks]).toEqual([0]);
    expect([...rs[1]!.chunks]).toEqual([1]);
    expect([...out]).toEqual([0, 0, 1, 1]);
  });

  it('rejects bad configs and inputs with a message that says what to fix', () => {
    expect(() => gcaForward(input([[1, 0]], [0]), { ...config, heads: 3, groups: 2 })).toThrow(/multiple of groups/);
    expect(() => gcaForward({ ...input([[1, 0]], [0]), q: new Float32Array(3) }, config)).toThrow(/expected 1 x 4/);
  });
});
