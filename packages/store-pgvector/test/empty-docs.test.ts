import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MemoryDocStore, type TokenEncoder } from '@quarry/core';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { PgColbertRetriever, type PgDenseRetriever, PgVectorStore, densePgPlugin } from '../src/index.js';
import { EMPTY_IDS, checkEmptyDocs, emptyDocCorpora } from '../../../tools/testing/empty-docs.js';

const url = inject('pgUrl');
const root = mkdtempSync(join(tmpdir(), 'pg-empty-'));
const opened: PgDenseRetriever[] = [];
const stores: PgVectorStore[] = [];
afterAll(async () => {
  for (const r of opened) {
    await r.store.drop();
    await r.store.close();
  }
  for (const store of stores) {
    await store.drop();
    await store.close();
  }
  rmSync(root, { recursive: true, force: true });
});

describe('dense-pg on empty documents and corpora without titles or texts', () => {
  emptyDocCorpora().forEach((corpus, c) => {
    for (const index of ['hnsw', 'flat'] as const) {
      it(`${index}: stores ${corpus.name} (Cranfield id 471 included) without embeddings for the empty docs, never returns them, and survives save/load`, async () => {
        const options = densePgPlugin.schema.parse({ url, table: `empty_${index}_${c}`, index, poolSize: 1, threads: 1 });
        const store = new MemoryDocStore(corpus.docs);
        const built = (await densePgPlugin.create(options, { docs: store })) as PgDenseRetriever;
        opened.push(built);
        expect(await built.store.count()).toBe(corpus.docs.length);
        for (const id of EMPTY_IDS) expect(await built.store.has(id)).toBe(true);
        const search = async (q: string, k: number) => (await built.search(q, { k })).map((h) => h.id);
        await checkEmptyDocs(search, corpus.docs, corpus.real, 3);
        // k = corpus size: every real doc, no empty one (fewer than k hits).
        expect(await search('cells', corpus.docs.length)).toHaveLength(corpus.real.length);
        const dir = join(root, `${index}-${c}`);
        await built.save(dir);
        const loaded = (await densePgPlugin.load!(dir, options, { docs: store })) as PgDenseRetriever;
        opened.push(loaded);
        await checkEmptyDocs(async (q, k) => (await loaded.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
      });
    }
  });
});

describe('colbert-pg on empty documents and corpora without titles or texts', () => {
  emptyDocCorpora().forEach((corpus, c) => {
    it(`stores ${corpus.name} (Cranfield id 471 included) with no token vectors for the empty docs and never returns them`, async () => {
      const model = await loadEncoder(bundledModelDir(), { threads: 1 });
      const encoder = model as TokenEncoder & typeof model;
      const store = await PgVectorStore.open({ url, dim: 32, metric: 'ip', mode: 'colbert', table: `empty_colbert_${c}`, poolSize: 1 });
      stores.push(store);
      const retriever = new PgColbertRetriever(encoder, store, { candidatesPerToken: 24 });
      expect(await retriever.addDocs(corpus.docs)).toBe(corpus.docs.length);
      expect(await store.count()).toBe(corpus.docs.length);
      await checkEmptyDocs(async (q, k) => (await retriever.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
    });
  });
});
