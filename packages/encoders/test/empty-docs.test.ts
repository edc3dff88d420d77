import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, type Persistable } from '@quarry/core';
import type { DenseRetriever } from '@quarry/vector';
import { densePlugin } from '../src/index.js';
import { EMPTY_IDS, checkEmptyDocs, emptyDocCorpora } from '../../../tools/testing/empty-docs.js';

const root = mkdtempSync(join(tmpdir(), 'dense-empty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('dense (bundled encoder) on empty documents and corpora without titles or texts', () => {
  for (const index of ['flat', 'hnsw'] as const) {
    const options = densePlugin.schema.parse({ index, threads: 1 });
    for (const corpus of emptyDocCorpora()) {
      it(`${index}: indexes ${corpus.name} (Cranfield id 471 included), never returns the empty docs, and survives save/load`, async () => {
        const built = (await densePlugin.create(options, { docs: new MemoryDocStore(corpus.docs) })) as DenseRetriever;
        expect(built.size).toBe(corpus.docs.length);
        for (const id of EMPTY_IDS) expect(built.has(id)).toBe(true);
        const search = async (q: string, k: number) => (await built.search(q, { k })).map((h) => h.id);
        await checkEmptyDocs(search, corpus.docs, corpus.real, 3);
        // At k = corpus size the hit list holds every real doc and no empty one.
        expect(await search('vitamin', corpus.docs.length)).toHaveLength(corpus.real.length);
        const dir = join(root, `${index}-${corpus.name.replace(/ /g, '-')}`);
        await (built as unknown as Persistable).save(dir);
        const loaded = (await densePlugin.load!(dir, options)) as DenseRetriever;
        expect(loaded.size).toBe(corpus.docs.length);
        for (const id of EMPTY_IDS) expect(loaded.has(id)).toBe(true);
        await checkEmptyDocs(async (q, k) => (await loaded.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
      });
    }
  }
});
