import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, type Persistable } from '@quarry/core';
import { boolPlugin } from '../src/index.js';
import { EMPTY_IDS, checkEmptyDocs, emptyDocCorpora } from '../../../tools/testing/empty-docs.js';

const root = mkdtempSync(join(tmpdir(), 'bool-empty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const options = boolPlugin.schema.parse({});

describe('bool on empty documents and corpora without titles or texts', () => {
  for (const corpus of emptyDocCorpora()) {
    it(`indexes ${corpus.name} (Cranfield id 471 included), never returns the empty docs, and survives save/load`, async () => {
      const store = new MemoryDocStore(corpus.docs);
      const built = await boolPlugin.create(options, { docs: store });
      await checkEmptyDocs(async (q, k) => (await built.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
      // Even a query for "not" anything (all docs tie near zero) cannot surface them.
      expect((await built.search('studies that are not about anything', { k: 100 })).map((h) => h.id)).not.toContain('471');
      const dir = join(root, corpus.name.replace(/ /g, '-'));
      await (built as unknown as Persistable).save(dir);
      const loaded = await boolPlugin.load!(dir, options);
      await checkEmptyDocs(async (q, k) => (await loaded.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
      expect(EMPTY_IDS.length).toBe(3);
    });
  }
});
