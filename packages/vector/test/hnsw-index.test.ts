import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IndexCorruptError, InputError } from '@quarry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FlatIndex, HnswIndex, loadVectorIndex } from '../src/index.js';
import { editManifest, idsFor, lowRank, recall, row, tamper, tempDir } from './helpers.js';

// Low-rank data (rank-8 latent in 64 dimensions plus small noise) behaves like real
// embeddings; uniform random vectors are HNSW's worst case and would say little.
const n = 5000;
const dim = 64;
const ids = idsFor(n);
const vectors = lowRank(n, dim, 8, 11);
const queries = lowRank(200, dim, 8, 12);

describe('HnswIndex search quality', () => {
  let hnsw: HnswIndex;
  let flat: FlatIndex;
  beforeAll(() => {
    hnsw = new HnswIndex({ dim, metric: 'cosine', M: 16, efConstruction: 200, ef: 64, seed: 1 });
    hnsw.add(ids, vectors);
    flat = new FlatIndex({ dim, metric: 'cosine' });
    flat.add(ids, vectors);
  });

  it('recall@10 against exact search is >= 0.95 at ef=64', () => {
    expect(hnsw.ef).toBe(64);
    const r = recall(hnsw.searchBatch(queries, { k: 10 }), flat.searchBatch(queries, { k: 10 }));
    expect(r).toBeGreaterThanOrEqual(0.95);
  });

  it('scores agree with exact search for the ids both return', () => {
    const exact = new Map(flat.search(row(queries, 0), { k: 50 }).map((h) => [h.id, h.score]));
    const approx = hnsw.search(row(queries, 0), { k: 10 });
    expect(approx).toHaveLength(10);
    for (const h of approx) if (exact.has(h.id)) expect(h.score).toBeCloseTo(exact.get(h.id)!, 5);
    for (let i = 1; i < approx.length; i++) expect(approx[i]!.score).toBeLessThanOrEqual(approx[i - 1]!.score);
  });

  it('a higher ef does not lower recall', () => {
    const truth = flat.searchBatch(queries, { k: 10 });
    hnsw.setEf(16);
    const low = recall(hnsw.searchBatch(queries, { k: 10 }), truth);
    hnsw.setEf(256);
    const high = recall(hnsw.searchBatch(queries, { k: 10 }), truth);
    hnsw.setEf(64);
    expect(high).toBeGreaterThanOrEqual(low);
    expect(high).toBeGreaterThanOrEqual(0.99);
  });

  it('filters inside the search', () => {
    const keep = (id: string) => Number(id.slice(1)) % 10 === 3;
    const truth = flat.searchBatch(queries, { k: 10, filter: keep });
    const found = hnsw.searchBatch(queries, { k: 10, filter: keep });
    for (const hits of found) {
      expect(hits).toHaveLength(10);
      expect(hits.every((h) => keep(h.id))).toBe(true);
    }
    expect(recall(found, truth)).toBeGreaterThanOrEqual(0.95);
    expect(hnsw.search(row(queries, 0), { filter: () => false })).toEqual([]);
  });

  it('a very selective filter on a small graph still returns exactly the nearest matching docs', () => {
    // 7 matching docs among 5,000, M=4, ef=4: hnswlib keeps exploring until k matches are found.
    const small = new HnswIndex({ dim, metric: 'cosine', M: 4, efConstruction: 16, ef: 4, seed: 3 });
    small.add(ids, vectors);
    const keep = (id: string) => Number(id.slice(1)) % 700 === 5;
    for (let q = 0; q < 20; q++) {
      const truth = flat.search(row(queries, q), { k: 5, filter: keep });
      const found = small.search(row(queries, q), { k: 5, filter: keep });
      expect(found.map((h) => h.id)).toEqual(truth.map((h) => h.id));
      found.forEach((h, i) => expect(h.score).toBeCloseTo(truth[i]!.score, 5));
    }
    // Fewer matches than k: all of them, best first.
    const few = (id: string) => id === ids[10] || id === ids[20];
    expect(
      small
        .search(row(queries, 0), { k: 5, filter: few })
        .map((h) => h.id)
        .sort(),
    ).toEqual([ids[10], ids[20]].sort());
  });

  it('rethrows an error thrown by the filter', () => {
    const boom = new Error('filter failed');
    expect(() =>
      hnsw.search(row(queries, 0), {
        filter: () => {
          throw boom;
        },
      }),
    ).toThrow(boom);
  });

  it('ip metric scores raw inner products', () => {
    const ip = new HnswIndex({ dim: 3, metric: 'ip' });
    ip.add(['a', 'b'], [new Float32Array([2, 0, 0]), new Float32Array([0, 3, 0])]);
    expect(ip.search(new Float32Array([1, 1, 0]), { k: 2 })).toEqual([
      { id: 'b', score: expect.closeTo(3, 5) },
      { id: 'a', score: expect.closeTo(2, 5) },
    ]);
  });
});

describe('HnswIndex deletes and capacity', () => {
  it('reuses tombstoned slots: re-adding after deletes does not grow getMaxElements', () => {
    const index = new HnswIndex({ dim, capacity: 1000, seed: 3 });
    index.add(ids.slice(0, 1000), { rows: 1000, cols: dim, data: vectors.data.subarray(0, 1000 * dim) });
    expect(index.capacity).toBe(1000);
    const deleted = ids.slice(0, 1000).filter((_, i) => i % 3 === 0);
    for (const id of deleted) expect(index.delete(id)).toBe(true);
    expect(index.size).toBe(1000 - deleted.length);
    expect(index.tombstones).toBe(deleted.length);

    const fresh = idsFor(deleted.length, 'new');
    index.add(fresh, { rows: fresh.length, cols: dim, data: vectors.data.subarray(1000 * dim, (1000 + fresh.length) * dim) });
    expect(index.capacity).toBe(1000); // no resize: every new vector took a deleted slot
    expect(index.tombstones).toBe(0);
    expect(index.size).toBe(1000);

    const gone = new Set(deleted);
    for (const hits of index.searchBatch(queries, { k: 50 })) expect(hits.some((h) => gone.has(h.id))).toBe(false);
    // Each re-added vector is found as its own nearest neighbour.
    let self = 0;
    fresh.forEach((id, i) => {
      if (index.search(row(vectors, 1000 + i), { k: 1 })[0]?.id === id) self++;
    });
    expect(self / fresh.length).toBeGreaterThanOrEqual(0.98);
    // A deleted id may come back under a new vector.
    index.add([deleted[0]!], [row(vectors, 4999)]);
    expect(index.search(row(vectors, 4999), { k: 1 })[0]!.id).toBe(deleted[0]);
    expect(index.capacity).toBe(2000); // the index was full: doubling
  });

  it('grows by doubling when full and honours an explicit resize', () => {
    const index = new HnswIndex({ dim, capacity: 16 });
    index.add(ids.slice(0, 20), { rows: 20, cols: dim, data: vectors.data.subarray(0, 20 * dim) });
    expect(index.capacity).toBe(32);
    index.add(ids.slice(20, 100), { rows: 80, cols: dim, data: vectors.data.subarray(20 * dim, 100 * dim) });
    expect(index.capacity).toBe(100); // max(needed, 2 x 32)
    index.resize(500);
    expect(index.capacity).toBe(500);
    expect(() => index.resize(50)).toThrow(InputError);
    index.delete('d0');
    expect(() => index.resize(99)).toThrow(/in use/); // the tombstone still holds a slot
    expect(index.size).toBe(99);
  });

  it('returns false for an unknown or already deleted id', () => {
    const index = new HnswIndex({ dim: 2 });
    expect(index.delete('x')).toBe(false);
    index.add(['x'], [new Float32Array([1, 0])]);
    expect(index.delete('x')).toBe(true);
    expect(index.delete('x')).toBe(false);
    expect(index.search(new Float32Array([1, 0]))).toEqual([]);
  });

  it('returns at most size hits, and none from an empty index', () => {
    const index = new HnswIndex({ dim: 2, capacity: 4 });
    expect(index.search(new Float32Array([1, 0]))).toEqual([]);
    index.add(['a', 'b'], [new Float32Array([1, 0]), new Float32Array([0, 1])]);
    expect(index.search(new Float32Array([1, 0]), { k: 100 }).map((h) => h.id)).toEqual(['a', 'b']);
    expect(index.getVector('b')).toEqual(new Float32Array([0, 1]));
    expect(index.getVector('zzz')).toBeUndefined();
    expect([...index.ids()].sort()).toEqual(['a', 'b']);
  });
});

describe('HnswIndex persistence', () => {
  const build = (): HnswIndex => {
    const index = new HnswIndex({ dim, M: 12, efConstruction: 100, ef: 40, seed: 9, capacity: 600 });
    index.add(ids.slice(0, 500), { rows: 500, cols: dim, data: vectors.data.subarray(0, 500 * dim) });
    for (let i = 0; i < 500; i += 5) index.delete(ids[i]!);
    index.setEf(77);
    return index;
  };

  it('save -> load gives identical results, restores ef, and keeps tombstones reusable', async () => {
    const index = build();
    const dir = join(tempDir(), 'hnsw');
    await index.save(dir);
    const loaded = await HnswIndex.load(dir);
    expect(loaded.ef).toBe(77);
    expect(loaded.M).toBe(12);
    expect(loaded.efConstruction).toBe(100);
    expect(loaded.metric).toBe('cosine');
    expect(loaded.size).toBe(400);
    expect(loaded.tombstones).toBe(100);
    expect(loaded.capacity).toBe(600);
    expect(loaded.searchBatch(queries, { k: 10 })).toEqual(index.searchBatch(queries, { k: 10 }));
    const keep = (id: string) => id.endsWith('7');
    expect(loaded.searchBatch(queries, { k: 5, filter: keep })).toEqual(index.searchBatch(queries, { k: 5, filter: keep }));
    expect(await loadVectorIndex(dir)).toBeInstanceOf(HnswIndex);

    // The loaded index continues: new labels never collide, tombstones are reused.
    loaded.add(idsFor(100, 'x'), { rows: 100, cols: dim, data: vectors.data.subarray(1000 * dim, 1100 * dim) });
    expect(loaded.capacity).toBe(600);
    expect(loaded.tombstones).toBe(0);
    expect(loaded.search(row(vectors, 1050), { k: 1 })[0]!.id).toBe('x50');
    expect(loaded.search(row(vectors, 1), { k: 1 })[0]!.id).toBe('d1');
  });

  it('a corrupted graph file fails its checksum with IndexCorruptError', async () => {
    const dir = join(tempDir(), 'hnsw');
    await build().save(dir);
    const file = join(dir, 'graph.hnsw');
    const bytes = readFileSync(file);
    bytes[200] = bytes[200]! ^ 0x55;
    writeFileSync(file, bytes);
    await expect(HnswIndex.load(dir)).rejects.toThrow(IndexCorruptError);
    await expect(HnswIndex.load(dir)).rejects.toThrow(/checksum mismatch for graph.hnsw/);
  });

  it('catches inconsistent files even when their checksums were re-stamped', async () => {
    const dir = join(tempDir(), 'hnsw');
    const cases: [string, () => void, RegExp][] = [
      ['truncated graph', () => tamper(dir, 'graph.hnsw', (b) => b.subarray(0, b.length - 100)), /graph.hnsw/],
      ['bytes after the last element', () => tamper(dir, 'graph.hnsw', (b) => Buffer.concat([b, Buffer.alloc(8)])), /after its last element/],
      ['graph shorter than its header', () => tamper(dir, 'graph.hnsw', (b) => b.subarray(0, 50)), /header/],
      ['manifest dim differs from the graph', () => editManifest(dir, (m) => (m.meta['dim'] = 32)), /vector bytes/],
      ['manifest M differs from the graph', () => editManifest(dir, (m) => (m.meta['M'] = 16)), /graph.hnsw M/],
      ['element count differs', () => editManifest(dir, (m) => (m.meta['tombstones'] = 3)), /element count/],
      ['labels not in the graph', () => tamper(dir, 'labels.u32', (_b) => Buffer.from(new Uint32Array(400).fill(0).map((_, i) => 10_000 + i).buffer)), /labels.u32/],
      ['label counter behind the labels', () => editManifest(dir, (m) => (m.meta['nextLabel'] = 10)), /labels.u32/],
      ['ids not an array', () => tamper(dir, 'ids.json', () => Buffer.from('{"a":1}')), /ids.json/],
      ['ef missing', () => editManifest(dir, (m) => delete m.meta['ef']), /meta.ef/],
    ];
    for (const [, damage, message] of cases) {
      await build().save(dir);
      damage();
      const attempt = HnswIndex.load(dir);
      await expect(attempt).rejects.toThrow(IndexCorruptError);
      await expect(HnswIndex.load(dir)).rejects.toThrow(message);
    }
  });
});
