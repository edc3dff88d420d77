import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, type Persistable } from '@quarry/core';
import { llm2grPlugin } from '../src/index.js';
import { checkEmptyDocs, emptyDocCorpora, ownTextQuery, scifactDocs, withoutTitles } from '../../../tools/testing/empty-docs.js';

const root = mkdtempSync(join(tmpdir(), 'llm2gr-empty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const options = llm2grPlugin.schema.parse({});

describe('llm2gr on empty documents and corpora without titles or texts', () => {
  for (const corpus of emptyDocCorpora()) {
    it(`indexes ${corpus.name} (Cranfield id 471 included), never returns the empty docs, finds real docs, and survives save/load`, async () => {
      const store = new MemoryDocStore(corpus.docs);
      const built = await llm2grPlugin.create(options, { docs: store });
      await checkEmptyDocs(async (q, k) => (await built.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
      const dir = join(root, corpus.name.replace(/ /g, '-'));
      await (built as unknown as Persistable).save(dir);
      const loaded = await llm2grPlugin.load!(dir, options);
      await checkEmptyDocs(async (q, k) => (await loaded.search(q, { k })).map((h) => h.id), corpus.docs, corpus.real, 3);
    });
  }

  it('falls back to passage prefixes over the FM-index of the whole corpus when no doc has a title, and says so in explain', async () => {
    const docs = withoutTitles(scifactDocs(40));
    const built = await llm2grPlugin.create(options, { docs: new MemoryDocStore(docs) });
    // A query from the middle of a doc's text, not its opening words.
    for (const doc of [docs[3]!, docs[17]!, docs[31]!]) {
      const hits = await built.search(ownTextQuery(doc, 10, 20), { k: 10 });
      expect(hits.length).toBeGreaterThan(0);
      expect(hits[0]!.id).toBe(doc.id);
      expect(hits[0]!.explain).toMatchObject({ mode: 'passage-prefix (no titles)', titleScore: null });
      expect(typeof hits[0]!.explain!['prefix']).toBe('string');
    }
  });

  it("reaches untitled docs of a corpus where only some docs have titles, naming each hit's mode", async () => {
    const real = scifactDocs(30);
    const docs = real.map((d, i) => (i % 3 === 0 ? { ...d, title: '' } : d));
    const built = await llm2grPlugin.create(options, { docs: new MemoryDocStore(docs) });
    const untitled = docs[9]!;
    const hits = await built.search(ownTextQuery(untitled, 10, 20), { k: 10 });
    const hit = hits.find((h) => h.id === untitled.id);
    expect(hit?.explain).toMatchObject({ mode: 'passage-prefix (no title)' });
    const titled = docs[10]!;
    // The title ranking and the untitled docs' prefix ranking are fused by rank: its title puts it in the first two.
    const titledHits = await built.search(titled.title, { k: 10 });
    expect(titledHits.slice(0, 2).find((h) => h.id === titled.id)?.explain).toMatchObject({ mode: 'titles' });
  });
});
