import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IndexCorruptError } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { FlatIndex, HnswIndex, loadVectorIndex } from '../src/index.js';
import { editManifest, idsFor, naiveSearch, randomMatrix, row, tamper, tempDir } from './helpers.js';

function expectSameRanking(actual: { id: string; score: number }[], expected: { id: string; score: number }[]): void {
  expect(actual.map((h) => h.id)).toEqual(expected.map((h) => h.id));
  actual.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 5));
}

describe('FlatIndex matches a naive reference', () => {
  // 1037 rows: more than one 512-row block, and not a multiple of the 2-row kernel.
  const n = 1037;
  const dim = 24;
  const ids = idsFor(n);
  const vectors = randomMatrix(n, dim, 1);
  // 7 queries: one full group of 4 (4x2 kernel) and a remainder of 3 (1x4 kernel).
  const queries = randomMatrix(7, dim, 2);

  for (const metric of ['ip', 'cosine'] as const) {
    it(`${metric}: scores to 1e-5 and the same order, single and batched`, () => {
      const index = new FlatIndex({ dim, metric });
      index.add(ids, vectors);
      expect(index.size).toBe(n);
      const batched = index.searchBatch(queries, { k: 10 });
      for (let q = 0; q < queries.rows; q++) {
        const expected = naiveSearch(ids, vectors, row(queries, q), 10, metric);
        expectSameRanking(index.search(row(queries, q), { k: 10 }), expected);
        expectSameRanking(batched[q]!, expected);
      }
    });
  }

  it('ip and cosine rank differently when norms differ', () => {
    const ip = new FlatIndex({ dim: 2, metric: 'ip' });
    const cos = new FlatIndex({ dim: 2, metric: 'cosine' });
    const vs = [new Float32Array([10, 0]), new Float32Array([1, 1])];
    ip.add(['long', 'aligned'], vs);
    cos.add(['long', 'aligned'], vs);
    const q = new Float32Array([1, 1]);
    expect(ip.search(q, { k: 1 })[0]!.id).toBe('long'); // 10 > 2
    expect(cos.search(q, { k: 1 })[0]).toEqual({ id: 'aligned', score: expect.closeTo(1, 6) });
  });

  it('filters before top-k, on both the dense and the selective path', () => {
    const index = new FlatIndex({ dim, metric: 'cosine' });
    index.add(ids, vectors);
    const dense = (id: string) => Number(id.slice(1)) % 3 !== 0; // keeps ~2/3: scores every row
    const sparse = (id: string) => Number(id.slice(1)) % 50 === 0; // keeps 2%: scores only those rows
    for (const keep of [dense, sparse]) {
      const batched = index.searchBatch(queries, { k: 10, filter: keep });
      for (let q = 0; q < queries.rows; q++) {
        const expected = naiveSearch(ids, vectors, row(queries, q), 10, 'cosine', keep);
        expectSameRanking(batched[q]!, expected);
        expect(batched[q]!.every((h) => keep(h.id))).toBe(true);
      }
    }
    expect(index.search(row(queries, 0), { filter: () => false })).toEqual([]);
  });

  it('returns every vector when k exceeds the size, and nothing from an empty index', () => {
    const index = new FlatIndex({ dim: 3 });
    expect(index.search(new Float32Array([1, 0, 0]))).toEqual([]);
    expect(index.searchBatch({ rows: 2, cols: 3, data: new Float32Array([1, 0, 0, 0, 1, 0]) })).toEqual([[], []]);
    index.add(['a', 'b'], [new Float32Array([1, 0, 0]), new Float32Array([0, 1, 0])]);
    expect(index.search(new Float32Array([1, 0, 0]), { k: 100 }).map((h) => h.id)).toEqual(['a', 'b']);
  });

  it('breaks exact ties by row (insertion order until a delete moves rows)', () => {
    const index = new FlatIndex({ dim: 2, metric: 'ip' });
    const same = new Float32Array([1, 1]);
    index.add(['x', 'y', 'z'], [same, same, same]);
    expect(index.search(same, { k: 3 }).map((h) => h.id)).toEqual(['x', 'y', 'z']);
    index.delete('x'); // z moves into x's row
    expect(index.search(same, { k: 3 }).map((h) => h.id)).toEqual(['z', 'y']);
  });
});

describe('FlatIndex deletes', () => {
  const n = 300;
  const dim = 16;
  const ids = idsFor(n);
  const vectors = randomMatrix(n, dim, 3);
  const queries = randomMatrix(20, dim, 4);

  it('never returns a deleted id and ranks the rest exactly', () => {
    const index = new FlatIndex({ dim, metric: 'ip' });
    index.add(ids, vectors);
    const deleted = new Set(ids.filter((_, i) => i % 4 === 1 || i === n - 1 || i === 0));
    for (const id of deleted) expect(index.delete(id)).toBe(true);
    expect(index.size).toBe(n - deleted.size);
    for (const id of deleted) {
      expect(index.has(id)).toBe(false);
      expect(index.getVector(id)).toBeUndefined();
    }
    const batched = index.searchBatch(queries, { k: n });
    for (let q = 0; q < queries.rows; q++) {
      expect(batched[q]!.some((h) => deleted.has(h.id))).toBe(false);
      expectSameRanking(
        batched[q]!.slice(0, 10),
        naiveSearch(ids, vectors, row(queries, q), 10, 'ip', (id) => !deleted.has(id)),
      );
    }
    // Survivors keep their own vectors after rows were swapped around.
    for (let i = 2; i < n; i += 37) if (!deleted.has(ids[i]!)) expect(index.getVector(ids[i]!)).toEqual(row(vectors, i));
  });

  it('returns false for an unknown id and can re-add a deleted id', () => {
    const index = new FlatIndex({ dim: 2 });
    expect(index.delete('nope')).toBe(false);
    index.add(['a'], [new Float32Array([1, 0])]);
    expect(index.delete('a')).toBe(true);
    expect(index.delete('a')).toBe(false);
    index.add(['a'], [new Float32Array([0, 1])]);
    expect(index.search(new Float32Array([0, 1]))).toEqual([{ id: 'a', score: expect.closeTo(1, 6) }]);
  });

  it('grows its storage by doubling', () => {
    const index = new FlatIndex({ dim: 4, capacity: 4 });
    expect(index.capacity).toBe(4);
    index.add(idsFor(5), randomMatrix(5, 4, 9));
    expect(index.capacity).toBe(16); // max(5, 2 * 4, 16)
    index.add(idsFor(20, 'e'), randomMatrix(20, 4, 10));
    expect(index.capacity).toBe(32);
    expect(index.size).toBe(25);
  });
});

describe('FlatIndex persistence', () => {
  const dim = 12;
  const vectors = randomMatrix(200, dim, 5);
  const queries = randomMatrix(10, dim, 6);
  const build = (): FlatIndex => {
    const index = new FlatIndex({ dim, metric: 'cosine' });
    index.add(idsFor(200), vectors);
    index.delete('d7');
    return index;
  };

  it('save -> load gives identical results', async () => {
    const index = build();
    const dir = join(tempDir(), 'flat');
    await index.save(dir);
    const loaded = await FlatIndex.load(dir);
    expect(loaded.size).toBe(199);
    expect(loaded.metric).toBe('cosine');
    expect(loaded.searchBatch(queries, { k: 20 })).toEqual(index.searchBatch(queries, { k: 20 }));
    expect(await loadVectorIndex(dir)).toBeInstanceOf(FlatIndex);
    // A loaded index stays writable.
    loaded.add(['new'], [row(queries, 0)]);
    expect(loaded.search(row(queries, 0), { k: 1 })[0]!.id).toBe('new');
  });

  it('overwrites a previous save atomically (no temp folders left)', async () => {
    const root = tempDir();
    const dir = join(root, 'flat');
    await build().save(dir);
    const small = new FlatIndex({ dim });
    small.add(['only'], [row(vectors, 0)]);
    await small.save(dir);
    expect((await FlatIndex.load(dir)).size).toBe(1);
    expect(existsSync(join(root, 'flat', 'vectors.f32'))).toBe(true);
    expect(readdirSync(root)).toEqual(['flat']);
  });

  it('rejects damaged or mismatched folders with IndexCorruptError', async () => {
    const dir = join(tempDir(), 'flat');
    await build().save(dir);
    // The manifest checksum catches a flipped byte.
    const bytes = readFileSync(join(dir, 'vectors.f32'));
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(join(dir, 'vectors.f32'), bytes);
    await expect(FlatIndex.load(dir)).rejects.toThrow(IndexCorruptError);

    // Consistent checksums but inconsistent contents: our own checks catch them.
    await build().save(dir);
    tamper(dir, 'vectors.f32', (b) => b.subarray(0, b.length - 4 * dim));
    await expect(FlatIndex.load(dir)).rejects.toThrow(/vectors.f32 holds/);

    await build().save(dir);
    tamper(dir, 'ids.json', () => Buffer.from(JSON.stringify(['a', 'a'])));
    await expect(FlatIndex.load(dir)).rejects.toThrow(IndexCorruptError);

    await build().save(dir);
    editManifest(dir, (m) => (m.meta['metric'] = 'l2'));
    await expect(FlatIndex.load(dir)).rejects.toThrow(/metric/);

    await build().save(dir);
    await expect(HnswIndex.load(dir)).rejects.toThrow(IndexCorruptError);
    await expect(FlatIndex.load(join(dir, 'missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(loadVectorIndex(join(dir, 'missing'))).rejects.toThrow(IndexCorruptError);
  });
});
