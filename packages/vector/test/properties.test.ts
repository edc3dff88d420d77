import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlatIndex, HnswIndex, type VectorIndex } from '../src/index.js';

const DIM = 4;
// Small integer components make exact score ties common, which is where ordering bugs hide.
const vector = fc.array(fc.integer({ min: -3, max: 3 }), { minLength: DIM, maxLength: DIM }).map((xs) => new Float32Array(xs));
const nonZero = vector.filter((x) => x.some((c) => c !== 0));
const corpus = fc.uniqueArray(fc.tuple(fc.string({ maxLength: 4 }), nonZero), { selector: ([id]) => id, maxLength: 40 });
const k = fc.integer({ min: 1, max: 12 });
const metric = fc.constantFrom('ip' as const, 'cosine' as const);

function fill(index: VectorIndex, docs: [string, Float32Array][]): VectorIndex {
  if (docs.length)
    index.add(
      docs.map(([id]) => id),
      docs.map(([, x]) => x),
    );
  return index;
}

const kinds: [string, (m: 'ip' | 'cosine') => VectorIndex][] = [
  ['FlatIndex', (m) => new FlatIndex({ dim: DIM, metric: m })],
  ['HnswIndex', (m) => new HnswIndex({ dim: DIM, metric: m, capacity: 4 })],
];

describe.each(kinds)('%s properties', (_, make) => {
  it('top-k is sorted by score, holds at most k distinct indexed ids', () => {
    fc.assert(
      fc.property(corpus, nonZero, k, metric, (docs, q, kk, m) => {
        const index = fill(make(m), docs);
        const hits = index.search(q, { k: kk });
        expect(hits.length).toBeLessThanOrEqual(kk);
        expect(hits.length).toBeLessThanOrEqual(docs.length);
        for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
        expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
        for (const h of hits) expect(index.has(h.id)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('deleted ids never come back', () => {
    fc.assert(
      fc.property(corpus, fc.array(fc.nat()), nonZero, metric, (docs, picks, q, m) => {
        const index = fill(make(m), docs);
        const deleted = new Set(docs.length ? picks.map((p) => docs[p % docs.length]![0]) : []);
        for (const id of deleted) index.delete(id);
        expect(index.size).toBe(docs.length - deleted.size);
        for (const h of index.search(q, { k: 50 })) expect(deleted.has(h.id)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});

describe('FlatIndex: adding then deleting is the same as never adding', () => {
  it('gives identical results, ties included', () => {
    const twoCorpora = fc.uniqueArray(fc.tuple(fc.string({ maxLength: 4 }), nonZero), { selector: ([id]) => id, maxLength: 50 });
    fc.assert(
      fc.property(twoCorpora, fc.nat(), fc.array(nonZero, { minLength: 1, maxLength: 4 }), k, metric, fc.boolean(), (docs, split, queries, kk, m, reverse) => {
        const cut = docs.length ? split % (docs.length + 1) : 0;
        const kept = docs.slice(0, cut);
        const extra = docs.slice(cut);
        const clean = fill(new FlatIndex({ dim: DIM, metric: m }), kept);
        const churned = fill(new FlatIndex({ dim: DIM, metric: m }), docs);
        for (const [id] of reverse ? [...extra].reverse() : extra) expect(churned.delete(id)).toBe(true);
        const batch = { rows: queries.length, cols: DIM, data: Float32Array.from(queries.flatMap((x) => [...x])) };
        expect(churned.searchBatch(batch, { k: kk })).toEqual(clean.searchBatch(batch, { k: kk }));
      }),
      { numRuns: 200 },
    );
  });
});
