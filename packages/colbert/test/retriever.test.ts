import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, PluginRegistry, readCorpus, openBeirDataset, type Doc, type Retriever } from '@quarry/core';
import { bundledModelDir } from '@quarry/encoders';
import { colbertRetrieverPlugin, type ColbertRetriever } from '../src/index.js';

// Real text: the first 400 SciFact abstracts, the shipped own token model, a small index.
const dataset = openBeirDataset(join(__dirname, '../../../datasets/scifact'));
let docs: MemoryDocStore;
const registry = new PluginRegistry().register(colbertRetrieverPlugin);
const options = (extra: Record<string, unknown> = {}) => registry.validate('retriever', 'colbert', { centroids: 256, sampleTokens: 20_000, ...extra }) as never;

beforeAll(async () => {
  const all: Doc[] = [];
  for await (const d of readCorpus(dataset.corpusFile)) if (all.length < 400) all.push(d);
  docs = new MemoryDocStore(all);
});

describe('colbert retriever plugin (PLAID-style index over real SciFact text)', () => {
  let retriever: ColbertRetriever;
  const phases = new Map<string, { done: number; total?: number }>();
  beforeAll(async () => {
    retriever = (await colbertRetrieverPlugin.create(options(), { docs, onProgress: (e) => phases.set(e.phase, e) })) as unknown as ColbertRetriever;
  });

  it('streams the build: a bounded k-means sample, then every document compressed', () => {
    expect(phases.get('sampling')!.done).toBeLessThanOrEqual(20_000);
    expect(phases.get('indexing')).toEqual({ phase: 'indexing', done: 400, total: 400 });
    expect(retriever.index.size).toBe(400);
    expect(retriever.index.centroidCount).toBe(256);
    expect(retriever.index.bytesPerToken).toBe(4 + (64 * 2) / 8);
  });

  it('finds a document from its own title first, and ranks by MaxSim score', async () => {
    const target = [...docs][123]!;
    const hits = await retriever.search(target.title!, { k: 10 });
    expect(hits[0]!.id).toBe(target.id);
    // Token matches for the playground: each title token finds itself in its own document.
    const matches = hits[0]!.explain!.matches as { queryToken: string; docToken: string; score: number }[];
    expect(matches.length).toBeGreaterThan(3);
    expect(matches.filter((m) => m.queryToken === m.docToken).length / matches.length).toBeGreaterThan(0.8);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    const filtered = await retriever.search(target.title!, { k: 5, filter: (id) => id !== target.id });
    expect(filtered.map((h) => h.id)).not.toContain(target.id);
  });

  it('saves and loads to the same results; a different model, dim or nbits is refused', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-colbert-retriever-')), 'index');
    await retriever.save(dir);
    const loaded = (await colbertRetrieverPlugin.load!(dir, options(), { docs })) as Retriever;
    const q = 'vitamin D deficiency and tuberculosis risk';
    expect(await loaded.search(q, { k: 10 })).toEqual(await retriever.search(q, { k: 10 }));
    await expect(colbertRetrieverPlugin.load!(dir, options({ dim: 32 }), { docs })).rejects.toThrow(/64-d tokens at 2 bits, but 32-d at 2 bits/);
    await expect(colbertRetrieverPlugin.load!(dir, options({ nbits: 4 }), { docs })).rejects.toThrow(/rebuild/);
    await expect(colbertRetrieverPlugin.load!(dir, options({ encoder: bundledModelDir('scifact-contextual') }), { docs })).rejects.toMatchObject({ code: 'MODEL_MISMATCH' });
  });

  it('validates options with messages that say what to fix', async () => {
    expect(() => registry.validate('retriever', 'colbert', { nbits: 3 })).toThrow(/nbits/);
    await expect(colbertRetrieverPlugin.create(options({ dim: 300 }), { docs })).rejects.toThrow(/dim 300 is not available: .* gives 256-d token vectors/);
    await expect(colbertRetrieverPlugin.create(options({ dim: 48 }), { docs })).rejects.toThrow(/not one the model was trained for: .* supports 32, 64, 128, 256/);
  });
});
