// Dynamic pruning (block-max MaxScore) must return exactly what exhaustive search returns:
// the same ids, the same float scores, the same order of ties.
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom, loadSplit, openBeirDataset, readCorpus, type Doc, type Query } from '@quarry/core';
import { Bm25Index } from '../src/index.js';
import { BLOCK_SIZE, sumsAreExact, type QueryTerm } from '../src/pruning.js';

// Corpora drawn from a seeded PRNG that fast-check controls (with the sizes): word i of a
// vocabulary of V has probability ~ 1/(i+1) (Zipf), so a few words fill long posting lists
// (many blocks) and most are rare; lengths vary so scores spread out, and verbatim copies of
// earlier documents add exact ties.
const zipfWord = (random: SeededRandom, v: number) => `w${Math.floor((v + 1) ** random.next()) - 1}`;
const corpus = fc
  .record({ seed: fc.nat(), docs: fc.integer({ min: 1, max: 1500 }), vocab: fc.integer({ min: 2, max: 400 }), maxLength: fc.integer({ min: 1, max: 60 }), copies: fc.integer({ min: 0, max: 300 }) })
  .map(({ seed, docs, vocab, maxLength, copies }) => {
    const random = new SeededRandom(seed);
    const texts = Array.from({ length: docs }, () => Array.from({ length: random.int(maxLength + 1) }, () => zipfWord(random, vocab)).join(' '));
    for (let c = 0; c < copies; c++) texts.splice(random.int(texts.length + 1), 0, texts[random.int(texts.length)]!);
    return { vocab, docs: texts.map((t, i): Doc => ({ id: `d${i}`, text: t })) };
  });
const querySpec = fc.record({ seed: fc.nat(), n: fc.integer({ min: 1, max: 6 }), length: fc.integer({ min: 1, max: 10 }) });
/** Queries over the corpus's vocabulary, repeating words (boosts 2, 3, 4: a power of two and two that are not). */
function makeQueries(q: { seed: number; n: number; length: number }, vocab: number): string[] {
  const random = new SeededRandom(q.seed);
  return Array.from({ length: q.n }, () => Array.from({ length: 1 + random.int(q.length) }, () => zipfWord(random, vocab + 5)).join(' '));
}
const text = fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }).map((w) => w.map((i) => `w${i}`).join(' '));
const params = fc.record({ k1: fc.double({ min: 0, max: 3, noNaN: true }), b: fc.double({ min: 0, max: 1, noNaN: true }), lossyNorms: fc.boolean() });
const k = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 800 }));

async function same(index: Bm25Index, queries: string[], kk: number, filter?: (id: string) => boolean): Promise<void> {
  const options = filter ? { k: kk, filter } : { k: kk };
  const pruned = await index.searchBatch(queries, { ...options, exhaustive: false });
  const exhaustive = await index.searchBatch(queries, { ...options, exhaustive: true });
  expect(pruned).toEqual(exhaustive);
  // The default picks one of the two by k.
  expect(await index.searchBatch(queries, options)).toEqual(exhaustive);
}

describe('pruned search equals exhaustive search', () => {
  it('on random corpora and queries, ties included', async () => {
    await fc.assert(
      fc.asyncProperty(corpus, querySpec, params, k, async ({ docs, vocab }, q, p, kk) => {
        await same(await Bm25Index.build(docs, p), makeQueries(q, vocab), kk);
      }),
      { numRuns: 150 },
    );
  });

  it('with deletes, a filter, and documents added after the last compaction', async () => {
    await fc.assert(
      fc.asyncProperty(corpus, fc.array(text, { maxLength: 40 }), querySpec, params, k, fc.nat(), async ({ docs, vocab }, extra, q, p, kk, seed) => {
        const queries = makeQueries(q, vocab);
        const index = await Bm25Index.build(docs, p);
        for (let i = seed % 7; i < docs.length; i += 7) index.delete(docs[i]!.id);
        // Few enough adds to stay in the second segment (under 1/8 of the postings).
        extra.slice(0, Math.floor(docs.length / 40)).forEach((t, i) => index.add({ id: `x${i}`, text: t }));
        await same(index, queries, kk);
        await same(index, queries, kk, (id) => (id.length + seed) % 3 !== 0);
      }),
      { numRuns: 80 },
    );
  });

  it('when every document ties (one word, same length)', async () => {
    const docs = Array.from({ length: 5 * BLOCK_SIZE + 3 }, (_, i) => ({ id: `t${i}`, text: i % 3 === 0 ? 'alpha beta' : 'alpha gamma' }));
    const index = await Bm25Index.build(docs);
    for (const kk of [1, 10, 130, 1000]) await same(index, ['alpha', 'alpha beta', 'beta beta gamma', 'gamma alpha alpha alpha'], kk);
    expect((await index.search('alpha beta', { k: 3, exhaustive: false })).map((h) => h.id)).toEqual(['t0', 't3', 't6']);
  });
});

describe('pruning guards', () => {
  it('falls back to exhaustive summation only when term scores span too many orders of magnitude', () => {
    const term = (minImpact: number, maxImpact: number, scale = 1): QueryTerm => ({
      term: 0,
      impacts: new Float32Array(0),
      impactBase: 0,
      blockMax: new Float32Array(0),
      blockBase: 0,
      scale,
      maxImpact,
      minImpact,
    });
    expect(sumsAreExact([term(0.001, 12), term(0.2, 3, 2), term(1e-6, 0.5)])).toBe(true);
    expect(sumsAreExact([term(0, 12)])).toBe(false);
    expect(sumsAreExact([term(1e-30, 12), term(1, 5)])).toBe(false);
  });

  it('checks the exhaustive option', async () => {
    const index = await Bm25Index.build([{ id: 'a', text: 'alpha' }]);
    await expect(index.search('alpha', { exhaustive: 'yes' as never })).rejects.toThrow(/exhaustive must be true or false/);
  });
});

describe('on SciFact', () => {
  let docs: Doc[];
  let scifactQueries: Query[];
  beforeAll(async () => {
    const dataset = openBeirDataset(fileURLToPath(new URL('../../../datasets/scifact', import.meta.url)));
    docs = [];
    for await (const doc of readCorpus(dataset.corpusFile)) docs.push(doc);
    scifactQueries = (await loadSplit(dataset, 'test')).queries;
  });

  it('gives the exhaustive top 10, 100 and 1000 for all 300 test queries', async () => {
    const index = await Bm25Index.build(docs);
    for (const kk of [10, 100, 1000])
      await same(
        index,
        scifactQueries.map((q) => q.text),
        kk,
      );
  });

  it('and on SciFact twice over (every document has an exact twin: ties everywhere)', async () => {
    const twice = [...docs, ...docs.map((d) => ({ ...d, id: `${d.id}~2` }))];
    const index = await Bm25Index.build(twice);
    for (const kk of [10, 1000])
      await same(
        index,
        scifactQueries.map((q) => q.text),
        kk,
      );
    const hits = await index.search(scifactQueries[0]!.text, { k: 2 });
    expect(hits[1]!.id).toBe(`${hits[0]!.id}~2`);
    expect(hits[1]!.score).toBe(hits[0]!.score);
  });
});
