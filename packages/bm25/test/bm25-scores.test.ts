import { describe, expect, it } from 'vitest';
import type { Doc } from '@quarry/core';
import { Bm25Index } from '../src/index.js';
import { referenceBm25, rng, type RefDoc } from './reference.js';

// A small corpus of lowercase words separated by single spaces: the 'simple' analyzer
// tokenizes it exactly as `split(' ')` does, so the reference needs no analyzer.
const VOCAB = ['cell', 'gene', 'protein', 'tumor', 'mouse', 'dose', 'risk', 'brain', 'virus', 'trial', 'blood', 'liver'];
function corpus(seed: number, n: number): { docs: Doc[]; ref: RefDoc[] } {
  const rand = rng(seed);
  const docs: Doc[] = [];
  const ref: RefDoc[] = [];
  for (let i = 0; i < n; i++) {
    // Lengths from 0 to ~150 tokens: below and well above the 40 that Lucene's norms keep exactly.
    const len = i === 3 ? 0 : 1 + Math.floor(rand() ** 2 * 150);
    const words = Array.from({ length: len }, () => VOCAB[Math.floor(rand() ** 1.5 * VOCAB.length)]!);
    const title = i % 3 === 0 && len > 2 ? words.slice(0, 2).join(' ') : undefined;
    const text = title ? words.slice(2).join(' ') : words.join(' ');
    docs.push(title ? { id: `d${i}`, title, text } : { id: `d${i}`, text });
    ref.push({ id: `d${i}`, tokens: words });
  }
  return { docs, ref };
}

const QUERIES = ['cell', 'gene protein', 'tumor tumor mouse', 'risk risk risk blood', 'virus trial liver brain dose', 'unknownword cell', 'liver liver liver liver'];

describe('BM25 scores equal an independent reference computation', () => {
  for (const lossy of [false, true]) {
    for (const [k1, b] of [
      [0.9, 0.4],
      [1.2, 0.75],
      [2, 1],
      [0.5, 0],
    ] as const) {
      it(`${lossy ? 'lossy' : 'exact'} norms, k1=${k1}, b=${b}`, async () => {
        const { docs, ref } = corpus(7 + k1 * 10 + b * 100, 40);
        const index = await Bm25Index.build(docs, { analyzer: 'simple', k1, b, lossyNorms: lossy });
        for (const q of QUERIES) {
          const expected = referenceBm25(ref, q.split(' '), { k1, b, lossy });
          const hits = await index.search(q, { k: docs.length });
          expect(hits.map((h) => h.id).sort()).toEqual([...expected.keys()].sort());
          for (const hit of hits) expect(Math.abs(hit.score - expected.get(hit.id)!)).toBeLessThanOrEqual(1e-6 * Math.max(1, expected.get(hit.id)!));
        }
      });
    }
  }

  it('counts a repeated query term with its multiplicity', async () => {
    const { docs } = corpus(3, 30);
    const index = await Bm25Index.build(docs, { analyzer: 'simple' });
    const once = await index.search('tumor', { k: 30 });
    const thrice = await index.search('tumor tumor tumor', { k: 30 });
    expect(thrice.map((h) => h.id)).toEqual(once.map((h) => h.id));
    for (const [i, h] of thrice.entries()) expect(h.score).toBeCloseTo(3 * once[i]!.score, 5);
  });

  it('lossy norms change scores only for documents longer than 40 tokens', async () => {
    const docs = [
      { id: 'short', text: 'cell '.repeat(10).trim() },
      { id: 'forty', text: `${'cell '.repeat(5)}${'gene '.repeat(35)}`.trim() },
      { id: 'long', text: `${'cell '.repeat(5)}${'gene '.repeat(96)}`.trim() }, // 101 tokens -> Lucene length 96
    ];
    const exact = await Bm25Index.build(docs, { analyzer: 'simple', lossyNorms: false });
    const lossy = await Bm25Index.build(docs, { analyzer: 'simple' });
    const score = async (index: Bm25Index, id: string) => (await index.search('cell', { k: 3 })).find((h) => h.id === id)!.score;
    expect(await score(lossy, 'short')).toBe(await score(exact, 'short'));
    expect(await score(lossy, 'forty')).toBe(await score(exact, 'forty'));
    expect(await score(lossy, 'long')).toBeGreaterThan(await score(exact, 'long')); // scored as shorter
  });

  it('reports Lucene’s collection statistics', async () => {
    const { docs, ref } = corpus(11, 25);
    const index = await Bm25Index.build(docs, { analyzer: 'simple' });
    const withTokens = ref.filter((d) => d.tokens.length > 0);
    const total = withTokens.reduce((s, d) => s + d.tokens.length, 0);
    expect(index.stats()).toMatchObject({ docs: 25, docCount: withTokens.length, sumTotalTermFreq: total, avgdl: Math.fround(total / withTokens.length) });
  });

  it('indexes title and text as one field', async () => {
    const index = await Bm25Index.build([
      { id: 'a', title: 'Zebra stripes', text: 'in the savannah' },
      { id: 'b', text: 'nothing here' },
      { id: 'c', text: 'other' },
    ]);
    expect((await index.search('zebra')).map((h) => h.id)).toEqual(['a']);
    expect((await index.search('savannah stripe')).map((h) => h.id)).toEqual(['a']);
  });
});
