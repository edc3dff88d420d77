import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, type Persistable } from '@quarry/core';
import { bm25Plugin } from '../src/index.js';
import { EMPTY_IDS, checkEmptyDocs, emptyDocCorpora } from '../../../tools/testing/empty-docs.js';

const root = mkdtempSync(join(tmpdir(), 'bm25-empty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const options = bm25Plugin.schema.parse({});

describe('bm25 on empty documents and corpora without titles or texts', () => {
  for (const corpus of emptyDocCorpora()) {
    it(`indexes ${corpus.name}, never returns the empty docs, finds real docs from their own text, and survives save/load`, async () => {
      // A stopwords-only doc analyses to no tokens under the english analyzer: empty too.
      const docs = [...corpus.docs, { id: 'stop', title: '', text: 'the of and to it' }];
      const built = await bm25Plugin.create(options, { docs: new MemoryDocStore(docs) });
      const search = async (q: string, k: number) => (await built.search(q, { k })).map((h) => h.id);
      await checkEmptyDocs(search, docs, corpus.real, 1);
      expect((await built.search('the of and', { k: 50 })).map((h) => h.id)).not.toContain('stop');
      const dir = join(root, corpus.name.replace(/ /g, '-'));
      await (built as unknown as Persistable).save(dir);
      const loaded = await bm25Plugin.load!(dir, options);
      const again = async (q: string, k: number) => (await loaded.search(q, { k })).map((h) => h.id);
      await checkEmptyDocs(again, docs, corpus.real, 1);
      for (const id of EMPTY_IDS) expect(docs.some((d) => d.id === id)).toBe(true);
    });
  }
});
