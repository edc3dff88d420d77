import { createHash } from 'node:crypto';
import { MemoryDocStore, type Doc, type Encoder, type Matrix } from '@quarry/core';
import { describe, expect, inject, it } from 'vitest';
import { CollectionMismatchError, PgDenseRetriever, PgVectorStore, collectionTable, densePgPlugin } from '../src/index.js';

const url = inject('pgUrl');

/** A deterministic 8-d encoder (hash of the text): enough to store and find documents. */
const hashEncoder: Encoder = {
  dim: 8,
  async encode(texts: readonly string[]): Promise<Matrix> {
    const data = new Float32Array(texts.length * 8);
    texts.forEach((t, i) =>
      createHash('sha256')
        .update(t)
        .digest()
        .subarray(0, 8)
        .forEach((b, j) => (data[i * 8 + j] = b / 255 + 0.01)),
    );
    return { rows: texts.length, cols: 8, data };
  },
};

const corpus = (prefix: string, n: number): Doc[] => Array.from({ length: n }, (_, i) => ({ id: `${i}`, title: `${prefix} ${i}`, text: `${prefix} document number ${i}` }));
const scifactLike = corpus('scifact', 6);
const nfcorpusLike = [...corpus('nfcorpus', 4).map((d) => ({ ...d, id: `MED-${d.id}` }))];

async function retriever(table: string): Promise<PgDenseRetriever> {
  return new PgDenseRetriever(hashEncoder, await PgVectorStore.open({ url, dim: 8, poolSize: 1, table }));
}
const ids = async (r: PgDenseRetriever) => {
  const out: string[] = [];
  for await (const e of r.store.entries()) out.push(e.id);
  return out.sort();
};

describe('collections: one corpus never silently deletes another', () => {
  it('syncing another corpus into a store that holds one is refused, leaving its rows untouched; replace: true replaces it', async () => {
    const r = await retriever('coll_default');
    expect(await r.sync(scifactLike)).toMatchObject({ loaded: 6 });
    const error = await r.sync(nfcorpusLike).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectionMismatchError);
    expect((error as Error).message).toMatch(
      /Refusing to sync into store public\.coll_default: it holds an unnamed collection \(6 documents\) and these 4 documents are another corpus \(other ids; 6 stored rows would be deleted\)\. Pass replace: true \(--store-replace\)/,
    );
    expect(await ids(r)).toEqual(scifactLike.map((d) => d.id).sort());
    // The same corpus again, or with a document revised, is an update, not another corpus.
    expect(await r.sync(scifactLike.map((d, i) => (i === 0 ? { ...d, text: `${d.text} (revised)` } : d)))).toEqual({ loaded: 1, skipped: 5, removed: 0 });
    expect(await r.sync(nfcorpusLike, { replace: true })).toEqual({ loaded: 4, skipped: 0, removed: 6 });
    expect(await ids(r)).toEqual(nfcorpusLike.map((d) => d.id).sort());
    await r.store.drop();
    await r.store.close();
  });

  it('a named collection refuses another name, even with overlapping ids, and accepts its own updates', async () => {
    const r = await retriever('coll_named');
    await r.sync(scifactLike, { collection: 'scifact' });
    await expect(r.sync(corpus('other', 6), { collection: 'trec-covid' })).rejects.toThrow(/it holds collection "scifact" \(6 documents\), not "trec-covid"/);
    expect(await r.sync(scifactLike.slice(0, 5), { collection: 'scifact' })).toEqual({ loaded: 0, skipped: 5, removed: 1 });
    await r.store.drop();
    await r.store.close();
  });

  it('rows written before collections were recorded are protected too', async () => {
    const r = await retriever('coll_legacy');
    await r.addDocs(scifactLike);
    await expect(r.sync(nfcorpusLike)).rejects.toThrow(/it holds 6 documents, 6 of which are not in these 4/);
    expect(await r.sync([...scifactLike, ...nfcorpusLike])).toMatchObject({ loaded: 4, removed: 0 });
    await r.store.drop();
    await r.store.close();
  });

  it('the dense-pg plugin keys tables by collection: two corpora side by side in one database, both intact', async () => {
    expect(collectionTable('quarry_dense', 'SciFact')).toBe('quarry_dense_scifact');
    expect(collectionTable('quarry_dense', 'my corpus/v2')).toBe('quarry_dense_my_corpus_v2');
    expect(collectionTable('quarry_dense', 'x'.repeat(60))).toMatch(/^quarry_dense_x{18}_[0-9a-f]{8}$/);
    expect(collectionTable('quarry_dense', 'x'.repeat(60))).toHaveLength(40);
    const options = (collection: string) => densePgPlugin.schema.parse({ url, collection, poolSize: 1, index: 'flat', dim: 32 });
    const a = (await densePgPlugin.create(options('scifact'), { docs: new MemoryDocStore(scifactLike) })) as PgDenseRetriever;
    const b = (await densePgPlugin.create(options('nfcorpus'), { docs: new MemoryDocStore(nfcorpusLike) })) as PgDenseRetriever;
    expect([a.store.names.table, b.store.names.table]).toEqual(['quarry_dense_scifact', 'quarry_dense_nfcorpus']);
    expect(await ids(a)).toEqual(scifactLike.map((d) => d.id).sort());
    expect(await ids(b)).toEqual(nfcorpusLike.map((d) => d.id).sort());
    expect((await a.search('scifact document number 3', { k: 1 }))[0]!.id).toBe('3');
    expect((await b.search('nfcorpus document number 2', { k: 1 }))[0]!.id).toBe('MED-2');
    for (const r of [a, b]) {
      await r.store.drop();
      await r.store.close();
    }
  });
});
