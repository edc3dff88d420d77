import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { answer, ChunkMemory, DrtModel, passkeyExample, type DrtConfig } from '../src/index.js';

function chunkData(rng: SeededRandom, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

describe('ChunkMemory', () => {
  it('pages chunk states to disk and reads back exactly what was written, with only landmarks resident', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drt-mem-'));
    const paged = new ChunkMemory({ chunkFloats: 96, landmarkFloats: 4, pageDir: dir });
    const ram = new ChunkMemory({ chunkFloats: 96, landmarkFloats: 4 });
    const rng = new SeededRandom(1);
    const written: Float32Array[] = [];
    for (let c = 0; c < 300; c++) {
      const s = chunkData(rng, 96);
      const lq = chunkData(rng, 4);
      const lk = chunkData(rng, 4);
      written.push(s);
      expect(paged.append(s, lq, lk)).toBe(c);
      ram.append(s, lq, lk);
    }
    expect(paged.size).toBe(300);
    expect(paged.paged).toBe(true);
    for (const c of [0, 1, 150, 299]) {
      expect(paged.states(c)).toEqual(written[c]);
      expect(ram.states(c)).toEqual(written[c]);
    }
    expect(paged.lk).toEqual(ram.lk);
    expect(paged.lq).toEqual(ram.lq);
    // Resident: landmarks only (2 x 4 floats per chunk, doubled capacity) against the states too.
    expect(paged.residentBytes).toBeLessThanOrEqual(2 * 512 * 4 * 4);
    expect(ram.residentBytes).toBeGreaterThan(300 * 96 * 4);
    expect(readdirSync(dir)).toHaveLength(1);
    paged.close();
    expect(readdirSync(dir)).toHaveLength(0);
    expect(() => ram.states(300)).toThrow(/no chunk 300/);
    expect(() => ram.append(new Float32Array(3), new Float32Array(4), new Float32Array(4))).toThrow(/expected 96/);
  });

  it('answers identically with states in memory and paged to disk', () => {
    const config: DrtConfig = { vocab: 32, dim: 8, heads: 2, window: 8, chunk: 15, overlap: 4, groups: 1, relDim: 4, topK: 2, relValues: 0 };
    const model = DrtModel.init(config, 2);
    const dir = mkdtempSync(join(tmpdir(), 'drt-ans-'));
    for (const seed of [1, 2, 3]) {
      const ex = passkeyExample(new SeededRandom(seed), 400);
      const a = answer(model, ex.tokens);
      const b = answer(model, ex.tokens, { pageDir: dir });
      expect(b.tokens).toEqual(a.tokens);
      expect(b.retrieved).toEqual(a.retrieved);
      expect(a.retrieved.length).toBe(2);
      expect(a.chunks).toBe(Math.floor((ex.tokens.length + 3) / 15));
      expect(b.memoryBytes).toBeLessThan(a.memoryBytes);
      const c = answer(model, ex.tokens, { lookback: 3 });
      const e = answer(model, ex.tokens, { lookback: 3, pageDir: dir });
      expect(e.tokens).toEqual(c.tokens);
      expect(c.retrieved).toEqual(a.retrieved);
    }
    expect(() => answer(model, passkeyExample(new SeededRandom(1), 100).tokens, { lookback: 16 })).toThrow(/lookback must be/);
    expect(existsSync(dir) && readdirSync(dir)).toHaveLength(0);
  });
});
