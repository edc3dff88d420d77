// The seeded corpus generator of bench/scale.mjs: deterministic, analyzer-neutral words,
// SciFact-like lengths, and a vocabulary that keeps growing (Heaps' law).
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs bench module without types
import { docWords, generateDocs, generateQueries, word } from '../bench/scale-corpus.mjs';
import { EnglishAnalyzer } from '../src/index.js';

type GenDoc = { id: string; text: string };
const take = (n: number, seed = 1): GenDoc[] => [...(generateDocs(n, seed) as Iterable<GenDoc>)];

describe('scale corpus generator', () => {
  let docs: GenDoc[];
  beforeAll(() => {
    docs = take(10_000);
  });

  it('is a pure function of the seed and the ordinal', () => {
    expect(take(50)).toEqual(take(50));
    expect(take(50, 2)).not.toEqual(take(50));
    expect(docWords(1, 37).join(' ')).toBe(take(38)[37]!.text);
    expect(generateQueries(20, 1000)).toEqual(generateQueries(20, 1000));
  });

  it('writes words the English analyzer keeps as they are', () => {
    expect([0, 1, 18, 19, 20, 400, 123456].map(word)).toEqual(['b', 'c', 'z', 'bb', 'bc', 'bcc', 'wxxr']);
    const analyzer = new EnglishAnalyzer();
    for (const doc of take(200)) expect(analyzer.analyze(doc.text)).toEqual(doc.text.split(' '));
  });

  it('has SciFact-like lengths, bursty documents and a growing vocabulary', () => {
    const lengths = docs.map((d) => d.text.split(' ').length).sort((a, b) => a - b);
    // SciFact after analysis: median 152 tokens, p10 92, p90 235.
    expect(lengths[5_000]).toBeGreaterThan(135);
    expect(lengths[5_000]).toBeLessThan(165);
    expect(lengths[1_000]).toBeGreaterThan(80);
    expect(lengths[9_000]).toBeLessThan(260);
    const distinct = docs.reduce((sum, d) => sum + new Set(d.text.split(' ')).size, 0) / docs.reduce((sum, d) => sum + d.text.split(' ').length, 0);
    expect(distinct).toBeGreaterThan(0.45);
    expect(distinct).toBeLessThan(0.7);
    const vocabulary = (n: number) => new Set(docs.slice(0, n).flatMap((d) => d.text.split(' '))).size;
    const [small, large] = [vocabulary(2_500), vocabulary(10_000)];
    // Heaps' law V ~ n^beta with beta around 0.6-0.75 at this size: 4x the text, 2.2-2.9x the terms.
    expect(large / small).toBeGreaterThan(2.2);
    expect(large / small).toBeLessThan(2.9);
  });

  it('makes queries that mix rare and common words', () => {
    const queries = generateQueries(300, 10_000) as { id: string; text: string }[];
    const lengths = queries.map((q) => q.text.split(' ').length).sort((a, b) => a - b);
    expect(lengths[150]).toBeGreaterThanOrEqual(8);
    expect(lengths[150]).toBeLessThanOrEqual(11);
    const df = new Map<string, number>();
    for (const doc of docs) for (const w of new Set(doc.text.split(' '))) df.set(w, (df.get(w) ?? 0) + 1);
    const words = queries.flatMap((q) => q.text.split(' '));
    // Common: in over 10% of documents; rare: in under 0.5%.
    const common = words.filter((w) => (df.get(w) ?? 0) > 1_000).length / words.length;
    const rare = words.filter((w) => (df.get(w) ?? 0) < 50).length / words.length;
    expect(common).toBeGreaterThan(0.2);
    expect(rare).toBeGreaterThan(0.1);
  });
});
