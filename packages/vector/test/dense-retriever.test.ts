import { join } from 'node:path';
import { AbortError, DimensionMismatchError, DuplicateIdError, InputError, MemoryDocStore, type Doc, type EncodeOptions, type Encoder, type Matrix } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { DenseRetriever, FlatIndex, HnswIndex, type VectorIndex } from '../src/index.js';
import { tempDir } from './helpers.js';

/**
 * TEST-ONLY encoder: a hashed bag of words (each lower-cased word adds ±1 to one of
 * `dim` buckets, FNV-1a hashed). Deterministic and dependency-free, so retrieval
 * results can be asserted; it records every call so tests can check roles and batching.
 */
class HashedBagOfWords implements Encoder {
  readonly calls: { texts: readonly string[]; role: string }[] = [];
  constructor(readonly dim = 64) {}

  async encode(texts: readonly string[], options: EncodeOptions): Promise<Matrix> {
    this.calls.push({ texts, role: options.role });
    const data = new Float32Array(texts.length * this.dim);
    texts.forEach((text, i) => {
      for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
        let h = 0x811c9dc5;
        for (let c = 0; c < word.length; c++) h = Math.imul(h ^ word.charCodeAt(c), 0x01000193) >>> 0;
        const slot = i * this.dim + (h % this.dim);
        data[slot] = data[slot]! + (h & 0x80000000 ? -1 : 1);
      }
    });
    return { rows: texts.length, cols: this.dim, data };
  }
}

const docs: Doc[] = [
  { id: 'cats', title: 'Cats', text: 'cats purr and sleep in the sun' },
  { id: 'dogs', title: 'Dogs', text: 'dogs bark and fetch sticks in the park' },
  { id: 'rust', text: 'rust is a systems programming language with ownership' },
  { id: 'ts', text: 'typescript adds static types to javascript' },
  { id: 'tea', text: 'green tea is brewed with water below boiling' },
  { id: 'coffee', text: 'espresso coffee is brewed under pressure' },
  { id: 'hnsw', text: 'hierarchical navigable small world graphs for nearest neighbour search' },
  { id: 'bm25', text: 'bm25 ranks documents by term frequency and inverse document frequency' },
];

const indexes: [string, (dim: number) => VectorIndex][] = [
  ['FlatIndex', (dim) => new FlatIndex({ dim })],
  ['HnswIndex', (dim) => new HnswIndex({ dim, capacity: 4 })],
];

describe.each(indexes)('DenseRetriever over %s', (_, makeIndex) => {
  it('encodes documents in batches with role "document", reports progress, and finds them by query', async () => {
    const encoder = new HashedBagOfWords();
    const progress: { phase: string; done: number; total?: number }[] = [];
    const retriever = await DenseRetriever.fromDocs(docs, encoder, makeIndex(64), { batchSize: 3, onProgress: (e) => progress.push(e) });
    expect(retriever.size).toBe(docs.length);
    expect(encoder.calls.map((c) => [c.role, c.texts.length])).toEqual([
      ['document', 3],
      ['document', 3],
      ['document', 2],
    ]);
    // docText joins title and text.
    expect(encoder.calls[0]!.texts[0]).toBe('Cats cats purr and sleep in the sun');
    // The phase's start arrives before the first batch is encoded.
    expect(progress).toEqual([
      { phase: 'encode', done: 0, total: 8 },
      { phase: 'encode', done: 3, total: 8 },
      { phase: 'encode', done: 6, total: 8 },
      { phase: 'encode', done: 8, total: 8 },
    ]);

    const hits = await retriever.search('how is espresso coffee brewed', { k: 3 });
    expect(encoder.calls.at(-1)!.role).toBe('query');
    expect(hits[0]!.id).toBe('coffee');
    expect(hits).toHaveLength(3);
    const [a, b] = await retriever.searchBatch([{ id: 'q1', text: 'nearest neighbour graphs' }, 'dogs in the park'], { k: 1 });
    expect(a![0]!.id).toBe('hnsw');
    expect(b![0]!.id).toBe('dogs');
    const filtered = await retriever.search('espresso coffee', { k: 2, filter: (id) => id !== 'coffee' });
    expect(filtered.map((h) => h.id)).not.toContain('coffee');
  });

  it('streams async iterables and DocStores, and deletes', async () => {
    async function* stream(): AsyncGenerator<Doc> {
      yield* docs;
    }
    const fromStream = await DenseRetriever.fromDocs(stream(), new HashedBagOfWords(), makeIndex(64));
    expect(fromStream.size).toBe(8);
    const progress: (number | undefined)[] = [];
    const fromStore = await DenseRetriever.fromDocs(new MemoryDocStore(docs), new HashedBagOfWords(), makeIndex(64), { onProgress: (e) => progress.push(e.total) });
    expect(progress).toEqual([8, 8]);
    expect(fromStore.delete('coffee')).toBe(true);
    expect(fromStore.delete('coffee')).toBe(false);
    expect((await fromStore.search('espresso coffee', { k: 8 })).map((h) => h.id)).not.toContain('coffee');
  });

  it('stops at the next batch when the signal fires, keeping what was added', async () => {
    const controller = new AbortController();
    const retriever = new DenseRetriever(new HashedBagOfWords(), makeIndex(64), { batchSize: 2 });
    const run = retriever.addDocs(docs, { signal: controller.signal, onProgress: (e) => e.done === 4 && controller.abort() });
    await expect(run).rejects.toThrow(AbortError);
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    expect(retriever.size).toBe(4);
    // Resume by skipping what is already indexed.
    await retriever.addDocs(docs.filter((d) => !retriever.index.has(d.id)));
    expect(retriever.size).toBe(8);
    const aborted = AbortSignal.abort();
    await expect(retriever.search('tea', { signal: aborted })).rejects.toThrow(AbortError);
  });

  it('scoreDocs gives the same scores as search, NaN for unknown ids', async () => {
    const r = await DenseRetriever.fromDocs(docs, new HashedBagOfWords(), makeIndex(64));
    const hits = await r.search('brewed coffee and tea', { k: 3 });
    const scored = await r.scoreDocs('brewed coffee and tea', [...hits.map((h) => h.id), 'nope']);
    hits.forEach((h, i) => expect(scored[i]).toBeCloseTo(h.score, 5));
    expect(scored[3]).toBeNaN();
  });

  it('save -> load restores the same rankings', async () => {
    const encoder = new HashedBagOfWords();
    const retriever = await DenseRetriever.fromDocs(docs, encoder, makeIndex(64), { name: 'hashed' });
    const dir = join(tempDir(), 'dense');
    await retriever.save(dir);
    const loaded = await DenseRetriever.load(dir, encoder);
    expect(loaded.name).toBe('hashed');
    expect(loaded.index.kind).toBe(retriever.index.kind);
    const queries = ['green tea', 'static types for javascript', 'ranking by term frequency'];
    expect(await loaded.searchBatch(queries, { k: 5 })).toEqual(await retriever.searchBatch(queries, { k: 5 }));
    await expect(DenseRetriever.load(dir, new HashedBagOfWords(32))).rejects.toThrow(DimensionMismatchError);
  });
});

describe('DenseRetriever errors', () => {
  it('rejects an encoder whose dimension differs from the index', () => {
    expect(() => new DenseRetriever(new HashedBagOfWords(32), new FlatIndex({ dim: 64 }))).toThrow(DimensionMismatchError);
  });

  it('checks k before spending encoder time', async () => {
    const encoder = new HashedBagOfWords();
    const retriever = new DenseRetriever(encoder, new FlatIndex({ dim: 64 }));
    await expect(retriever.search('x', { k: 0 })).rejects.toThrow(InputError);
    expect(encoder.calls).toHaveLength(0);
  });

  it('rejects duplicate document ids before encoding the batch', async () => {
    const encoder = new HashedBagOfWords();
    const retriever = await DenseRetriever.fromDocs(docs.slice(0, 2), encoder, new FlatIndex({ dim: 64 }));
    const before = encoder.calls.length;
    await expect(retriever.addDocs([docs[0]!])).rejects.toThrow(DuplicateIdError);
    expect(encoder.calls.length).toBe(before);
  });

  it('indexes a document with nothing to match (zero vector or no letters) but never returns it, and keeps it across save/load', async () => {
    // Cranfield's doc 471 is empty; it used to stop indexing with "vector 1 (id "471") is all zeros".
    const retriever = new DenseRetriever(new HashedBagOfWords(), new FlatIndex({ dim: 64 }));
    expect(
      await retriever.addDocs([
        { id: 'ok', text: 'words here' },
        { id: '471', text: '' },
        { id: 'punct', text: '...' },
        { id: 'more', text: 'more words' },
      ]),
    ).toBe(4);
    expect(retriever.size).toBe(4);
    expect(retriever.has('471')).toBe(true);
    expect((await retriever.search('words', { k: 10 })).map((h) => h.id).sort()).toEqual(['more', 'ok']);
    expect(await retriever.search('...', { k: 10 })).toEqual([]);
    await expect(retriever.addDocs([{ id: '471', text: 'again' }])).rejects.toThrow(DuplicateIdError);
    const dir = join(tempDir(), 'dense-empty');
    {
      await retriever.save(dir);
      const loaded = await DenseRetriever.load(dir, new HashedBagOfWords());
      expect(loaded.size).toBe(4);
      expect(loaded.has('punct')).toBe(true);
      expect(await loaded.search('words', { k: 10 })).toEqual(await retriever.search('words', { k: 10 }));
      expect(loaded.delete('471')).toBe(true);
      expect(loaded.size).toBe(3);
    }
  });

  it('rejects an encoder that breaks its contract', async () => {
    const liar: Encoder = { dim: 4, encode: async () => ({ rows: 1, cols: 3, data: new Float32Array(3) }) };
    const retriever = new DenseRetriever(liar, new FlatIndex({ dim: 4 }));
    await expect(retriever.addDocs([{ id: 'a', text: 'a' }])).rejects.toThrow(DimensionMismatchError);
    const short: Encoder = { dim: 4, encode: async () => ({ rows: 0, cols: 4, data: new Float32Array(0) }) };
    await expect(new DenseRetriever(short, new FlatIndex({ dim: 4 })).search('a')).rejects.toThrow(/one row per text/);
  });
});
