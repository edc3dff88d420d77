import { describe, expect, it, vi } from 'vitest';
import { AbortError, DuplicateIdError, InputError, type Doc } from '@quarry/core';
import { Bm25Index, type Analyzer } from '../src/index.js';

const DOCS: Doc[] = [
  { id: 'a', title: 'Vitamin D', text: 'Vitamin D supplementation reduces the risk of fractures in older adults.' },
  { id: 'b', text: 'Smoking increases the risk of lung cancer.' },
  { id: 'c', text: 'Aspirin lowers the risk of heart attack; aspirin is cheap.' },
  { id: 'd', text: 'The cells divide.' },
  { id: 'e', text: 'Exercise improves heart health and mood.' },
];

const ids = (hits: { id: string }[]) => hits.map((h) => h.id);

describe('Bm25Index search', () => {
  it('ranks by BM25 and returns at most k hits, best first', async () => {
    const index = await Bm25Index.build(DOCS);
    const hits = await index.search('aspirin heart risk', { k: 2 });
    expect(ids(hits)).toEqual(['c', 'e']);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    expect(await index.search({ id: 'q1', text: 'aspirin heart risk' }, { k: 2 })).toEqual(hits);
  });

  it('returns [] for empty, stop-word-only and unknown queries, and for k = 0', async () => {
    const index = await Bm25Index.build(DOCS);
    expect(await index.search('')).toEqual([]);
    expect(await index.search('the of and')).toEqual([]);
    expect(await index.search('xylophone')).toEqual([]);
    expect(await index.search('aspirin', { k: 0 })).toEqual([]);
    expect(await new Bm25Index().search('aspirin')).toEqual([]);
  });

  it('defaults to k = 10', async () => {
    const docs = Array.from({ length: 30 }, (_, i) => ({ id: `x${i}`, text: `common word ${i}` }));
    expect(await (await Bm25Index.build(docs)).search('common')).toHaveLength(10);
  });

  it('applies the filter inside the index, before top-k', async () => {
    const index = await Bm25Index.build(DOCS);
    const hits = await index.search('risk', { k: 2, filter: (id) => id !== 'c' && id !== 'b' });
    expect(ids(hits)).toEqual(['a']);
  });

  it('keeps working after a filter throws', async () => {
    const index = await Bm25Index.build(DOCS);
    const before = await index.search('risk heart');
    await expect(
      index.search('risk heart', {
        filter: () => {
          throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    expect(await index.search('risk heart')).toEqual(before);
  });

  it('searchBatch equals one search per query', async () => {
    const index = await Bm25Index.build(DOCS);
    const queries = ['risk', { id: 'q', text: 'heart' }, '', 'aspirin cells'];
    const batch = await index.searchBatch(queries, { k: 3 });
    expect(batch).toEqual(await Promise.all(queries.map((q) => index.search(q, { k: 3 }))));
  });

  it('breaks score ties by insertion order', async () => {
    const index = await Bm25Index.build([
      { id: 'z', text: 'same text' },
      { id: 'y', text: 'same text' },
      { id: 'x', text: 'other' },
    ]);
    const hits = await index.search('same');
    expect(ids(hits)).toEqual(['z', 'y']);
    expect(hits[0]!.score).toBe(hits[1]!.score);
  });
});

describe('incremental add and delete', () => {
  it('finds documents added after the first search', async () => {
    const index = await Bm25Index.build(DOCS);
    expect(await index.search('penguin')).toEqual([]);
    index.add({ id: 'p', text: 'Penguins live in Antarctica.' });
    expect(ids(await index.search('penguin'))).toEqual(['p']);
    expect(index.size).toBe(6);
  });

  it('never returns deleted documents, and statistics describe live documents only', async () => {
    const index = await Bm25Index.build(DOCS);
    const fresh = await Bm25Index.build(DOCS.filter((d) => d.id !== 'b'));
    expect(index.delete('b')).toBe(true);
    expect(index.delete('b')).toBe(false);
    expect(index.has('b')).toBe(false);
    expect(index.size).toBe(4);
    // N, df and avgdl no longer count 'b': same scores as an index that never had it.
    const { docs, docCount, sumTotalTermFreq, avgdl } = fresh.stats();
    expect(index.stats()).toMatchObject({ docs, docCount, sumTotalTermFreq, avgdl });
    expect(await index.search('risk smoking lung', { k: 10 })).toEqual(await fresh.search('risk smoking lung', { k: 10 }));
  });

  it('accepts an id again once deleted', async () => {
    const index = await Bm25Index.build(DOCS);
    index.delete('d');
    index.add({ id: 'd', text: 'Cells migrate.' });
    expect(ids(await index.search('migrate'))).toEqual(['d']);
    expect(ids(await index.search('divide'))).toEqual([]);
  });

  it('stays equal to a fresh build through many adds and deletes (compactions included)', async () => {
    const index = new Bm25Index();
    const live = new Map<string, Doc>();
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 20; i++) {
        const doc = { id: `r${round}-${i}`, text: `topic${i % 7} word${(round * 3 + i) % 11} shared ${'pad '.repeat(i)}` };
        index.add(doc);
        live.set(doc.id, doc);
      }
      for (const id of [...live.keys()].filter((_, j) => j % 3 === round % 3).slice(0, 8)) {
        index.delete(id);
        live.delete(id);
      }
      if (round % 5 === 4) {
        const fresh = await Bm25Index.build([...live.values()]);
        for (const q of ['topic3 shared', 'word5 word7 pad', 'topic1 topic1']) {
          expect(await index.search(q, { k: 25 })).toEqual(await fresh.search(q, { k: 25 }));
        }
      }
    }
  });
});

describe('streaming builds: progress and cancellation', () => {
  it('reports progress and accepts async iterables', async () => {
    async function* stream() {
      for (let i = 0; i < 2500; i++) yield { id: `s${i}`, text: `doc number ${i}` };
    }
    const onProgress = vi.fn();
    const index = await Bm25Index.build(stream(), { onProgress, total: 2500 });
    expect(index.size).toBe(2500);
    expect(onProgress.mock.calls.map((c) => c[0])).toEqual([
      { phase: 'index', done: 1000, total: 2500 },
      { phase: 'index', done: 2000, total: 2500 },
      { phase: 'index', done: 2500, total: 2500 },
    ]);
  });

  it('stops on abort, keeping what was added so a caller can resume', async () => {
    const controller = new AbortController();
    const index = new Bm25Index();
    const docs = Array.from({ length: 100 }, (_, i) => ({ id: `c${i}`, text: `chunk ${i}` }));
    const source = (function* () {
      for (const [i, doc] of docs.entries()) {
        if (i === 40) controller.abort();
        yield doc;
      }
    })();
    await expect(index.addAll(source, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    expect(index.size).toBe(40);
    await index.addAll(docs.filter((d) => !index.has(d.id)));
    expect(index.size).toBe(100);
  });

  it('honours an aborted signal in search and searchBatch', async () => {
    const index = await Bm25Index.build(DOCS);
    const signal = AbortSignal.abort();
    await expect(index.search('risk', { signal })).rejects.toBeInstanceOf(AbortError);
    await expect(index.searchBatch(['risk'], { signal })).rejects.toBeInstanceOf(AbortError);
  });
});

describe('bad input raises typed errors that say what to fix', () => {
  it('rejects duplicate ids', async () => {
    const index = await Bm25Index.build(DOCS);
    expect(() => index.add({ id: 'a', text: 'again' })).toThrow(DuplicateIdError);
    expect(() => index.add({ id: 'a', text: 'again' })).toThrow(/"a" is already in the BM25 index; delete it first/);
    await expect(
      Bm25Index.build([
        { id: 'x', text: '1' },
        { id: 'x', text: '2' },
      ]),
    ).rejects.toMatchObject({ code: 'DUPLICATE_ID' });
  });

  it('rejects malformed documents', () => {
    const index = new Bm25Index();
    expect(() => index.add({ id: '', text: 'x' })).toThrow(/non-empty string/);
    expect(() => index.add({ id: 7, text: 'x' } as unknown as Doc)).toThrow(/String\(id\)/);
    expect(() => index.add({ id: 'n' } as unknown as Doc)).toThrow(/no string "text"/);
    expect(() => index.add({ id: 't', title: 5, text: '' } as unknown as Doc)).toThrow(/non-string "title"/);
    expect(() => index.add(null as unknown as Doc)).toThrow(InputError);
  });

  it('rejects bad k, queries and filters', async () => {
    const index = await Bm25Index.build(DOCS);
    for (const k of [Number.NaN, Number.POSITIVE_INFINITY, -1, 2.5, '10']) {
      await expect(index.search('risk', { k: k as number })).rejects.toThrow(/k must be a whole number >= 0/);
    }
    await expect(index.search(42 as unknown as string)).rejects.toThrow(/string or \{ id, text \}/);
    await expect(index.searchBatch('risk' as unknown as string[])).rejects.toThrow(/expects an array/);
    await expect(index.search('risk', { filter: 'a' as never })).rejects.toThrow(/filter must be a function/);
  });

  it('rejects bad parameters and analyzers', () => {
    expect(() => new Bm25Index({ k1: -1 })).toThrow(/k1 must be a finite number >= 0/);
    expect(() => new Bm25Index({ k1: Number.NaN })).toThrow(InputError);
    expect(() => new Bm25Index({ b: 1.5 })).toThrow(/b must be between 0 and 1/);
    expect(() => new Bm25Index({ analyzer: 'french' as never })).toThrow(/Unknown analyzer "french"/);
    expect(() => new Bm25Index({ analyzer: {} as Analyzer })).toThrow(/analyze\(text\)/);
  });
});

describe('custom analyzers', () => {
  it('accepts any object with analyze(text)', async () => {
    const trigrams: Analyzer = {
      name: 'trigrams',
      analyze: (text) => {
        const s = text.toLowerCase().replace(/[^a-z]/g, '');
        return Array.from({ length: Math.max(0, s.length - 2) }, (_, i) => s.slice(i, i + 3));
      },
    };
    const index = await Bm25Index.build(DOCS, { analyzer: trigrams });
    expect(ids(await index.search('aspirinn', { k: 1 }))).toEqual(['c']);
  });
});

describe('scoreDocs (DocScorer for mining teachers)', () => {
  it('equals the search score for every ranked doc, 0 for live non-matching docs, NaN for unknown or deleted ids', async () => {
    const index = await Bm25Index.build(DOCS);
    const hits = await index.search('aspirin heart risk', { k: 10 });
    const scored = await index.scoreDocs(
      'aspirin heart risk',
      hits.map((h) => h.id),
    );
    expect([...scored]).toEqual(hits.map((h) => h.score));
    index.delete('b');
    const more = await index.scoreDocs({ id: 'q', text: 'aspirin heart risk' }, ['d', 'nope', 'b']);
    expect(more[0]).toBe(0);
    expect(more[1]).toBeNaN();
    expect(more[2]).toBeNaN();
    // The scratch accumulator is left clean: a following search is unchanged.
    const fresh = await Bm25Index.build(DOCS.filter((d) => d.id !== 'b'));
    expect(await index.search('aspirin heart risk', { k: 10 })).toEqual(await fresh.search('aspirin heart risk', { k: 10 }));
  });
});
