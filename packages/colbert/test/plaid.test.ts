import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRandom, type RaggedMatrix } from '@quarry/core';
import { Gemm, MaxSimKernel, PlaidIndex, ResidualCodec, colbertCentroidCount, maxSim } from '../src/index.js';

const gemm = new Gemm(1);
const kernel = new MaxSimKernel({ threads: 1, jsThreshold: 0 }); // always the onnxruntime path
afterAll(async () => {
  await gemm.release();
  await kernel.release();
});

/** L2-normalised token vectors drawn around a few topic directions, like real token embeddings. */
function clusteredDocs(count: number, dim: number, seed: number): { ids: string[]; tokens: RaggedMatrix } {
  const rng = new SeededRandom(seed);
  const topics = Array.from({ length: 24 }, () => Float32Array.from({ length: dim }, () => rng.normal()));
  const offsets = new Int32Array(count + 1);
  const rows: number[] = [];
  for (let i = 0; i < count; i++) {
    const n = 3 + rng.int(30);
    offsets[i + 1] = offsets[i]! + n;
    for (let t = 0; t < n; t++) {
      const topic = topics[rng.int(topics.length)]!;
      const v = Array.from(topic, (x) => x + 0.6 * rng.normal());
      const norm = Math.hypot(...v);
      rows.push(...v.map((x) => x / norm));
    }
  }
  return { ids: Array.from({ length: count }, (_, i) => `d${i}`), tokens: { dim, offsets, data: Float32Array.from(rows) } };
}

function query(tokens: RaggedMatrix, doc: number, seed: number, n = 6): Float32Array {
  // A query made of perturbed tokens of one document (so it has a clear best match).
  const rng = new SeededRandom(seed);
  const dim = tokens.dim;
  const a = tokens.offsets[doc]!;
  const len = tokens.offsets[doc + 1]! - a;
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    const src = a + rng.int(len);
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += (out[r * dim + j] = tokens.data[src * dim + j]! + 0.3 * rng.normal()) ** 2;
    for (let j = 0; j < dim; j++) out[r * dim + j]! /= Math.sqrt(norm);
  }
  return out;
}

/** Exhaustive MaxSim over the given token matrix: the reference ranking. */
function exactTop(q: Float32Array, docs: RaggedMatrix, k: number, alive: (i: number) => boolean = () => true): number[] {
  const qm = { dim: docs.dim, offsets: Int32Array.of(0, q.length / docs.dim), data: q };
  return Array.from({ length: docs.offsets.length - 1 }, (_, i) => i)
    .filter(alive)
    .map((i) => ({ i, s: maxSim(qm, 0, docs, i) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, k)
    .map((x) => x.i);
}

async function buildIndex(nbits: 1 | 2 | 4, count = 300, dim = 16): Promise<{ index: PlaidIndex; ids: string[]; tokens: RaggedMatrix }> {
  const { ids, tokens } = clusteredDocs(count, dim, 11);
  const index = await PlaidIndex.train(tokens, 'test-model', gemm, { nbits, centroids: 64, seed: 3 });
  await index.add(ids, tokens, gemm);
  return { index, ids, tokens };
}

describe('ResidualCodec', () => {
  it('decodes to the nearest bucket value and gets closer with more bits', () => {
    const rng = new SeededRandom(1);
    const dim = 8;
    const centroids = Float32Array.from({ length: dim }, () => rng.normal() * 0.1);
    const vectors = Float32Array.from({ length: 400 * dim }, () => rng.normal() * 0.2);
    const residuals = vectors.map((v, i) => v - centroids[i % dim]!);
    let previous = Infinity;
    for (const nbits of [1, 2, 4] as const) {
      const codec = ResidualCodec.fit(residuals, dim, nbits);
      expect(codec.bytesPerToken).toBe((dim * nbits) / 8);
      const packed = new Uint8Array(codec.bytesPerToken);
      const out = new Float32Array(dim);
      let err = 0;
      for (let r = 0; r < 400; r++) {
        codec.encode(vectors, r * dim, centroids, 0, packed, 0);
        codec.decode(packed, 0, centroids, 0, out, 0);
        // decode normalises; compare directions.
        const v = vectors.subarray(r * dim, (r + 1) * dim);
        const n = Math.hypot(...v);
        err += 1 - v.reduce((s, x, j) => s + (x / n) * out[j]!, 0);
      }
      expect(err).toBeLessThan(previous);
      previous = err;
    }
  });

  it('rejects nbits outside {1, 2, 4} and dims that do not pack into bytes', () => {
    expect(() => ResidualCodec.fit(new Float32Array(16), 8, 3 as 2)).toThrow(/nbits must be 1, 2 or 4/);
    expect(() => ResidualCodec.fit(new Float32Array(12), 3, 1)).toThrow(/multiple of 8 bits/);
  });
});

describe('PlaidIndex', () => {
  it('uses ColBERTv2 centroid counts', () => {
    expect(colbertCentroidCount(1_683_776)).toBe(16384);
    expect(colbertCentroidCount(10_000)).toBe(1024);
  });

  it('with pruning off, returns exactly the exhaustive MaxSim top-10 over the decompressed vectors', async () => {
    const { index } = await buildIndex(2);
    const all = index.decompress(Int32Array.from({ length: index.size }, (_, i) => i));
    for (let qi = 0; qi < 10; qi++) {
      const q = query(all, qi * 7, qi);
      const hits = await index.search(q, gemm, kernel, { k: 10, nprobe: index.centroidCount, centroidScoreThreshold: -Infinity, ndocs: 4 * index.size });
      expect(hits.map((h) => h.slot)).toEqual(exactTop(q, all, 10));
    }
  });

  it('top-10 overlap with the exact float ranking: better with more bits, and pruning costs a little (synthetic 16-d)', async () => {
    // Synthetic clustered 16-d tokens are a hard case (many near-ties; quantisation error
    // averages out less than at 64-128 dims). Bounds measured on this data; a broken codec or
    // candidate generation drops far below them. Real SciFact figures are in the benchmark.
    const overlap = async (nbits: 1 | 2 | 4, pruned: boolean): Promise<number> => {
      const { index, tokens } = await buildIndex(nbits);
      let total = 0;
      for (let qi = 0; qi < 20; qi++) {
        const q = query(tokens, qi * 13, 100 + qi);
        const opts = pruned ? { k: 10, nprobe: 4, centroidScoreThreshold: 0.3, ndocs: 128 } : { k: 10, nprobe: index.centroidCount, centroidScoreThreshold: -Infinity, ndocs: 10_000 };
        const hits = await index.search(q, gemm, kernel, opts);
        const exact = new Set(exactTop(q, tokens, 10));
        total += hits.filter((h) => exact.has(h.slot)).length / 10;
      }
      return total / 20;
    };
    const two = await overlap(2, false);
    const four = await overlap(4, false);
    expect(two).toBeGreaterThanOrEqual(0.65);
    expect(four).toBeGreaterThanOrEqual(0.85);
    expect(four).toBeGreaterThan(two);
    const fourPruned = await overlap(4, true);
    expect(fourPruned).toBeGreaterThanOrEqual(0.6);
    expect(fourPruned).toBeLessThanOrEqual(four);
  });

  it('deletes for real: deleted documents never come back, compaction and save/load keep every other result', async () => {
    const { index, ids, tokens } = await buildIndex(2);
    const opts = { k: 10, nprobe: index.centroidCount, centroidScoreThreshold: -Infinity, ndocs: 10_000 };
    const q = query(tokens, 5, 1);
    const before = (await index.search(q, gemm, kernel, opts)).map((h) => index.idOf(h.slot));
    const gone = before.slice(0, 3);
    expect(index.delete([...gone, 'no-such-id'])).toBe(3);
    expect(index.size).toBe(ids.length - 3);
    const after = (await index.search(q, gemm, kernel, opts)).map((h) => index.idOf(h.slot));
    for (const id of gone) expect(after).not.toContain(id);
    expect(after.slice(0, 7)).toEqual(before.slice(3));
    const tokensBefore = index.tokenCount;
    index.compact();
    expect(index.tokenCount).toBeLessThan(tokensBefore);
    expect((await index.search(q, gemm, kernel, opts)).map((h) => index.idOf(h.slot))).toEqual(after);
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-plaid-')), 'index');
    await index.save(dir);
    const loaded = await PlaidIndex.load(dir);
    expect(loaded.size).toBe(index.size);
    expect((await loaded.search(q, gemm, kernel, opts)).map((h) => loaded.idOf(h.slot))).toEqual(after);
    // Incremental add after load: a new document made of the query's own tokens ranks first.
    await loaded.add(['new'], { dim: tokens.dim, offsets: Int32Array.of(0, q.length / tokens.dim), data: q }, gemm);
    expect(loaded.idOf((await loaded.search(q, gemm, kernel, opts))[0]!.slot)).toBe('new');
    await expect(loaded.add(['new'], { dim: tokens.dim, offsets: Int32Array.of(0, 1), data: q.subarray(0, tokens.dim) }, gemm)).rejects.toThrow(/new/);
    await expect(loaded.add(['x'], { dim: 8, offsets: Int32Array.of(0, 1), data: new Float32Array(8) }, gemm)).rejects.toThrow(/16/);
  });

  it('refuses a damaged index with a clear error', async () => {
    const { index } = await buildIndex(1, 60);
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-plaid-')), 'index');
    await index.save(dir);
    const file = join(dir, 'residuals.u8');
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(file, bytes);
    await expect(PlaidIndex.load(dir)).rejects.toMatchObject({ code: 'INDEX_CORRUPT' });
  });
});

describe('MaxSimKernel (onnxruntime)', () => {
  it('equals plain MaxSim for random ragged documents, any order and subset (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 30 }), fc.integer(), async (nq, lengths, seed) => {
        const rng = new SeededRandom(seed);
        const dim = 8;
        const offsets = Int32Array.from([0, ...lengths.map((_, i) => lengths.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
        const docs = { dim, offsets, data: Float32Array.from({ length: offsets[lengths.length]! * dim }, () => rng.normal()) };
        const q = { dim, offsets: Int32Array.of(0, nq), data: Float32Array.from({ length: nq * dim }, () => rng.normal()) };
        const items = Int32Array.from(
          lengths
            .map((_, i) => i)
            .reverse()
            .filter((i) => i % 3 !== 1),
        );
        const got = await kernel.score(q, 0, docs, items);
        items.forEach((doc, i) => expect(got[i]).toBeCloseTo(maxSim(q, 0, docs, doc), 3));
      }),
      { numRuns: 40 },
    );
  });

  it('wide tokens (unpadded GEMM, max in JS) equal plain MaxSim too, also when the candidates span several GEMMs', async () => {
    const small = new MaxSimKernel({ threads: 1, jsThreshold: 0, blockFloats: 256 * 50 });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 20 }), fc.integer(), async (nq, lengths, seed) => {
        const rng = new SeededRandom(seed);
        const dim = 256;
        const offsets = Int32Array.from([0, ...lengths.map((_, i) => lengths.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
        const docs = { dim, offsets, data: Float32Array.from({ length: offsets[lengths.length]! * dim }, () => rng.normal()) };
        const q = { dim, offsets: Int32Array.of(0, nq), data: Float32Array.from({ length: nq * dim }, () => rng.normal()) };
        const items = Int32Array.from(lengths.map((_, i) => i).reverse());
        for (const k of [kernel, small]) {
          const got = await k.score(q, 0, docs, items);
          items.forEach((doc, i) => expect(got[i]).toBeCloseTo(maxSim(q, 0, docs, doc), 2));
        }
      }),
      { numRuns: 15 },
    );
    await small.release();
  });
});
