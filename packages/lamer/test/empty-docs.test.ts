import { describe, it } from 'vitest';
import { MemoryDocStore } from '@quarry/core';
import { lamerDensePlugin, lamerPlugin } from '../src/index.js';
import { checkEmptyDocs, emptyDocCorpora } from '../../../tools/testing/empty-docs.js';

describe('lamer on empty documents and corpora without titles or texts', () => {
  for (const corpus of emptyDocCorpora()) {
    it(`lamer (extractive): indexes ${corpus.name} (Cranfield id 471 included) and never returns the empty docs`, async () => {
      const built = await lamerPlugin.create(lamerPlugin.schema.parse({}), { docs: new MemoryDocStore(corpus.docs) });
      await checkEmptyDocs(async (q, k) => (await built.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
    });
    it(`lamer-dense (extractive): indexes ${corpus.name} (Cranfield id 471 included) and never returns the empty docs`, async () => {
      const built = await lamerDensePlugin.create(lamerDensePlugin.schema.parse({}), { docs: new MemoryDocStore(corpus.docs) });
      await checkEmptyDocs(async (q, k) => (await built.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
    });
  }
});
