import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, type Hit, type Persistable } from '@quarry/core';
import { ColbertRetriever, colbertPlugin, colbertRetrieverPlugin, loadTokenEncoder } from '../src/index.js';
import { EMPTY_IDS, checkEmptyDocs, emptyDocCorpora } from '../../../tools/testing/empty-docs.js';

const root = mkdtempSync(join(tmpdir(), 'colbert-empty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ColBERT on empty documents and corpora without titles or texts', () => {
  it('PLAID: a batch made only of empty docs indexes too', async () => {
    const [corpus] = emptyDocCorpora(6);
    const docs = [...corpus!.docs].sort((a, b) => Number(EMPTY_IDS.includes(b.id as never)) - Number(EMPTY_IDS.includes(a.id as never)));
    const { encoder, label } = await loadTokenEncoder(undefined);
    const built = await ColbertRetriever.build(docs, encoder, { dim: 64, nbits: 2, batchSize: 2, model: label });
    expect(built.index.idOf(0)).toBe(docs[0]!.id);
    await checkEmptyDocs(async (q, k) => (await built.search(q, { k })).map((h) => h.id), docs, corpus!.real, 3);
    await built.release();
  });

  for (const corpus of emptyDocCorpora()) {
    it(`rerank: scores ${corpus.name} and never returns the empty docs among its candidates`, async () => {
      const store = new MemoryDocStore(corpus.docs);
      const options = colbertPlugin.schema.parse({});
      const reranker = await colbertPlugin.create(options, { docs: store });
      // Every doc, empty ones included, as the first stage's candidates.
      const candidates: Hit[] = corpus.docs.map((d, i) => ({ id: d.id, score: -i }));
      const search = async (q: string, _k: number) => (await reranker.rerank({ id: 'q', text: q }, candidates, { docs: store })).map((h) => h.id);
      await checkEmptyDocs(search, corpus.docs, corpus.real, 3);
      // The stored token vectors (empty docs hold none) survive save/load.
      const dir = join(root, `rerank-${corpus.name.replace(/ /g, '-')}`);
      await (reranker as unknown as Persistable).save(dir);
      const loaded = await colbertPlugin.load!(dir, options, { docs: store });
      const again = async (q: string, _k: number) => (await loaded.rerank({ id: 'q', text: q }, candidates, { docs: store })).map((h) => h.id);
      await checkEmptyDocs(again, corpus.docs, corpus.real, 3);
    });

    it(`PLAID: indexes ${corpus.name} (Cranfield id 471 included), never returns the empty docs, and survives save/load`, async () => {
      const options = colbertRetrieverPlugin.schema.parse({});
      const store = new MemoryDocStore(corpus.docs);
      const built = await colbertRetrieverPlugin.create(options, { docs: store });
      await checkEmptyDocs(async (q, k) => (await built.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
      const dir = join(root, corpus.name.replace(/ /g, '-'));
      await (built as unknown as Persistable).save(dir);
      const loaded = await colbertRetrieverPlugin.load!(dir, options, { docs: store });
      await checkEmptyDocs(async (q, k) => (await loaded.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
      expect(EMPTY_IDS.every((id) => corpus.docs.some((d) => d.id === id))).toBe(true);
    });
  }
});
