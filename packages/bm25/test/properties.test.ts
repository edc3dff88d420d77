import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Doc } from '@quarry/core';
import { Bm25Index } from '../src/index.js';

// Small vocabularies make overlaps, ties and repeated terms common.
const WORDS = ['cell', 'cells', 'gene', 'the', 'protein', 'tumour', 'mice', 'dose', 'risk', 'of', 'brain', "virus's", 'p53', 'β-cell'];
const text = fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 30 }).map((w) => w.join(' '));
const docs = fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), text, title: fc.option(text, { nil: undefined }) }), {
  selector: (d) => d.id,
  minLength: 1,
  maxLength: 25,
});
const queries = fc.array(text, { minLength: 1, maxLength: 5 });
const params = fc.record({ k1: fc.double({ min: 0, max: 3, noNaN: true }), b: fc.double({ min: 0, max: 1, noNaN: true }), lossyNorms: fc.boolean() });
const k = fc.integer({ min: 0, max: 30 });

const clean = (list: { id: string; text: string; title: string | undefined }[]): Doc[] => list.map(({ id, text, title }) => (title === undefined ? { id, text } : { id, title, text }));

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('properties', () => {
  it('deleting added documents gives the results of never adding them', async () => {
    await fc.assert(
      fc.asyncProperty(docs, docs, queries, params, k, fc.integer({ min: 0, max: 25 }), async (base, extra, qs, p, kk, at) => {
        const keep = clean(base);
        const taken = new Set(keep.map((d) => d.id));
        const added = clean(extra)
          .map((d) => ({ ...d, id: `+${d.id}` }))
          .filter((d) => !taken.has(d.id));
        const expected = await (await Bm25Index.build(keep, p)).searchBatch(qs, { k: kk });
        // Interleave the extra docs anywhere, search in between (so segments and caches are live), then delete them.
        const index = new Bm25Index(p);
        keep.forEach((d, i) => {
          if (i === Math.min(at, keep.length - 1)) added.forEach((x) => index.add(x));
          index.add(d);
        });
        await index.searchBatch(qs, { k: kk });
        added.forEach((x) => expect(index.delete(x.id)).toBe(true));
        expect(await index.searchBatch(qs, { k: kk })).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('save then load gives identical results', async () => {
    await fc.assert(
      fc.asyncProperty(docs, queries, params, k, fc.boolean(), async (list, qs, p, kk, withDelete) => {
        const index = await Bm25Index.build(clean(list), p);
        if (withDelete && list.length > 1) index.delete(list[0]!.id);
        const before = await index.searchBatch(qs, { k: kk });
        const dir = mkdtempSync(join(tmpdir(), 'bm25-prop-'));
        dirs.push(dir);
        await index.save(join(dir, 'idx'));
        const loaded = await Bm25Index.load(join(dir, 'idx'));
        expect(loaded.stats()).toEqual(index.stats());
        expect(await loaded.searchBatch(qs, { k: kk })).toEqual(before);
      }),
      { numRuns: 25 },
    );
  });

  it('results are sorted by score, without duplicates, at most k, all live', async () => {
    await fc.assert(
      fc.asyncProperty(docs, queries, params, k, async (list, qs, p, kk) => {
        const index = await Bm25Index.build(clean(list), p);
        const gone = list.filter((_, i) => i % 4 === 1).map((d) => d.id);
        gone.forEach((id) => index.delete(id));
        for (const hits of await index.searchBatch(qs, { k: kk })) {
          expect(hits.length).toBeLessThanOrEqual(kk);
          expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
          for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
          for (const h of hits) {
            expect(gone).not.toContain(h.id);
            expect(h.score).toBeGreaterThan(0);
            expect(Number.isFinite(h.score)).toBe(true);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
