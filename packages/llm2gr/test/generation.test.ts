import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Doc } from '@quarry/core';
import { Llm2grIndex, Llm2grRetriever, TokenTrie, constrainedBeamSearch, type DecodingConstraint, type TrieNode } from '../src/index.js';
import { ToyScorer } from './toy.js';

const V = 12;
const seqArb = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: min, maxLength: max });
const corpusArb = fc.array(fc.record({ title: seqArb(0, 4), text: seqArb(0, 30) }), { minLength: 1, maxLength: 12 });

function toDocs(rows: { title: number[]; text: number[] }[]): Doc[] {
  return rows.map((r, i) => ({ id: `d${i}`, title: r.title.join(' '), text: r.text.join(' ') }));
}

function contains(hay: number[], needle: number[], at: number): boolean {
  return needle.every((t, j) => hay[at + j] === t);
}

describe('constrained beam search', () => {
  it('with a beam as wide as the trie, returns every title with its exact log-probability', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(seqArb(1, 4), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 1000 }), async (titles, seed) => {
        const trie = TokenTrie.build(titles);
        const scorer = new ToyScorer(V, seed);
        const constraint: DecodingConstraint<TrieNode> = { next: (n) => ({ tokens: trie.children(n).tokens, states: trie.children(n).nodes }), canEnd: (n) => trie.isComplete(n) };
        const prompt = [1, 2, 3];
        const hyps = await constrainedBeamSearch(scorer, prompt, constraint, trie.root(), { beamSize: 64, maxTokens: 8, endToken: 0 });
        expect(hyps.length).toBe(trie.size);
        for (const h of hyps) {
          expect(trie.lookup(h.tokens).length).toBeGreaterThan(0);
          // Brute force: sum of log p(token | prompt + previous tokens) + log p(end).
          let lp = 0;
          const seq = [...h.tokens, 0];
          for (let i = 0; i < seq.length; i++) lp += (await scorer.nextTokenLogProbs([[...prompt, ...seq.slice(0, i)]]))[0]![seq[i]!]!;
          expect(h.logProb).toBeCloseTo(lp, 4);
          expect(h.length).toBe(seq.length);
          expect(h.score).toBeCloseTo(lp / seq.length, 5);
        }
        for (let i = 1; i < hyps.length; i++) expect(hyps[i - 1]!.score).toBeGreaterThanOrEqual(hyps[i]!.score);
      }),
      { numRuns: 60 },
    );
  });

  it('never generates tokens outside the scorer vocabulary unless told how to score them', async () => {
    const trie = TokenTrie.build([
      [3, 50],
      [3, 4],
    ]);
    const constraint: DecodingConstraint<TrieNode> = { next: (n) => ({ tokens: trie.children(n).tokens, states: trie.children(n).nodes }), canEnd: (n) => trie.isComplete(n) };
    const scorer = new ToyScorer(V);
    const hyps = await constrainedBeamSearch(scorer, [1], constraint, trie.root(), { beamSize: 5, maxTokens: 4 });
    expect(hyps.map((h) => h.tokens)).toEqual([[3, 4]]);
    const withOov = await constrainedBeamSearch(scorer, [1], constraint, trie.root(), { beamSize: 5, maxTokens: 4, outOfVocabLogProb: -20 });
    expect(withOov.map((h) => h.tokens).sort()).toEqual([
      [3, 4],
      [3, 50],
    ]);
    await expect(constrainedBeamSearch(scorer, [1], constraint, trie.root(), { beamSize: 0, maxTokens: 4 })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });
});

describe('LLM2GR generation invariants', () => {
  it('every generated title exists in the corpus; every prefix occurs verbatim at the passage offset of its document', async () => {
    await fc.assert(
      fc.asyncProperty(corpusArb, seqArb(1, 5), fc.integer({ min: 1, max: 50 }), async (rows, query, seed) => {
        const docs = toDocs(rows);
        const scorer = new ToyScorer(V, seed);
        const index = Llm2grIndex.build(docs, scorer);
        const r = new Llm2grRetriever(index, scorer, { titleBeam: 4, keepTitles: 2, passageBeam: 3, prefixLength: 4, passageLength: 6, titleEnd: '' });
        const gen = await r.generate(query.join(' '));
        const titleSet = new Set(docs.filter((d) => d.title).map((d) => d.title));
        for (const t of gen.titles) {
          expect(titleSet.has(t.title)).toBe(true);
          // Duplicate titles map to all their documents.
          expect(t.docs.sort()).toEqual(
            docs
              .filter((d) => d.title === t.title)
              .map((d) => d.id)
              .sort(),
          );
        }
        for (const p of gen.passages) {
          const text = rows[Number(p.doc.slice(1))]!.text;
          const prefix = scorer.encode(p.prefix);
          expect(prefix.length).toBeGreaterThan(0);
          expect(contains(text, prefix, p.offset)).toBe(true);
          expect(scorer.encode(p.passage)).toEqual(text.slice(p.offset, p.offset + 6));
        }
        for (const h of gen.hits) expect(docs.some((d) => d.id === h.id)).toBe(true);
        expect(new Set(gen.hits.map((h) => h.id)).size).toBe(gen.hits.length);
      }),
      { numRuns: 150 },
    );
  });

  it('handles a corpus without titles, empty and duplicate titles, and a query of unknown words', async () => {
    const scorer = new ToyScorer(V);
    const none = new Llm2grRetriever(Llm2grIndex.build([{ id: 'a', text: '1 2 3' }], scorer), scorer, { titleEnd: '' });
    // No titles at all: passage prefixes over the whole corpus's FM-index stand in for stage 1.
    const untitled = await none.search('anything');
    expect(untitled.map((h) => h.id)).toEqual(['a']);
    expect(untitled[0]!.explain).toMatchObject({ mode: 'passage-prefix (no titles)', titles: [], titleScore: null });
    const docs: Doc[] = [
      { id: 'a', title: '5 6', text: '1 2 3 4' },
      { id: 'b', title: '5 6', text: '4 3 2 1' },
      { id: 'c', title: '', text: '7 7 7' },
      { id: 'd', title: '9', text: '8' },
    ];
    const r = new Llm2grRetriever(Llm2grIndex.build(docs, scorer), scorer, { titleEnd: '', prefixLength: 16 });
    const gen = await r.generate('zebra quux');
    expect(gen.titles.map((t) => t.title).sort()).toEqual(['5 6', '9']);
    expect(gen.titles.find((t) => t.title === '5 6')!.docs).toEqual(['a', 'b']);
    // Prefixes stop at the end of a short document (longer than any document is impossible).
    for (const p of gen.passages) expect(scorer.encode(p.prefix).length).toBeLessThanOrEqual(4);
    // The untitled doc c is reached by a passage prefix over the untitled docs' own FM-index.
    expect(gen.modes).toEqual(['titles', 'passage-prefix (no title)']);
    expect(gen.hits.map((h) => h.id).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(gen.hits.find((h) => h.id === 'c')!.explain).toMatchObject({ mode: 'passage-prefix (no title)' });
    expect(gen.hits[0]!.explain).toMatchObject({ titles: expect.any(Array) });
    expect(() =>
      Llm2grIndex.build(
        [
          { id: 'x', text: '1' },
          { id: 'x', text: '2' },
        ],
        scorer,
      ),
    ).toThrow(/twice/);
    expect(() => new Llm2grRetriever(Llm2grIndex.build(docs, scorer), new ToyScorer(V + 1))).toThrow(/different tokenizer/);
    expect(() => new Llm2grRetriever(Llm2grIndex.build(docs, scorer), scorer, { alpha: 2 })).toThrow(/alpha/);
  });

  it('hits "kept" returns only the documents of the top titles, scored alpha * title + (1 - alpha) * passage', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ title: [i % 7, (i * 3) % 5], text: Array.from({ length: 20 }, (_, j) => (i * 7 + j * 5) % V) }));
    const scorer = new ToyScorer(V, 7);
    const index = Llm2grIndex.build(toDocs(rows), scorer);
    const r = new Llm2grRetriever(index, scorer, { hits: 'kept', keepTitles: 2, alpha: 0.9, titleEnd: '' });
    const gen = await r.generate('1 2 3');
    const keptDocs = new Set(gen.titles.slice(0, 2).flatMap((t) => t.docs));
    expect(gen.hits.every((h) => keptDocs.has(h.id))).toBe(true);
    for (const h of gen.hits) {
      const e = h.explain as { titleScore: number; passageScore: number | null };
      if (e.passageScore !== null) expect(h.score).toBeCloseTo(0.9 * e.titleScore + 0.1 * e.passageScore, 10);
    }
  });
});

describe('Llm2grIndex persistence', () => {
  it('a saved and loaded index generates exactly what the built one does', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'llm2gr-'));
    try {
      const rows = Array.from({ length: 12 }, (_, i) => ({ title: [i % 5, (i * 3) % 7, 1], text: Array.from({ length: 30 }, (_, j) => (i * 5 + j * 7) % V) }));
      const scorer = new ToyScorer(V, 9);
      const index = Llm2grIndex.build(toDocs(rows), scorer, { sampleRate: 5 });
      await index.save(join(dir, 'idx'));
      const loaded = await Llm2grIndex.load(join(dir, 'idx'));
      const a = await new Llm2grRetriever(index, scorer, { titleEnd: '' }).generate('3 4');
      const b = await new Llm2grRetriever(loaded, scorer, { titleEnd: '' }).generate('3 4');
      expect(b.hits).toEqual(a.hits);
      expect(b.passages).toEqual(a.passages);
      expect(loaded.ids).toEqual(index.ids);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
