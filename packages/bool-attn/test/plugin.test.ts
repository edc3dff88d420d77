import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, Pipeline, PluginRegistry, readCorpus, type Doc } from '@quarry/core';
import { bundledModelDir } from '@quarry/encoders';
import { BoolModelError, boolPlugin, bundledBoolModelDir, loadBoolEncoder } from '../src/index.js';

const CORPUS = fileURLToPath(new URL('../../../datasets/scifact/corpus.jsonl.gz', import.meta.url));
let docs: Doc[];
const registry = new PluginRegistry().register(boolPlugin);

beforeAll(async () => {
  docs = [];
  for await (const d of readCorpus(CORPUS)) if (docs.push(d) >= 400) break;
});

describe('bool plugin', () => {
  it('builds, searches, saves and loads (same hits), and the baseline is the same encoder without modules', async () => {
    const store = new MemoryDocStore(docs);
    const q = `${docs[3]!.title} but not ${docs[7]!.title}`;
    const bool = await Pipeline.build({ retrievers: [{ plugin: 'bool' }] }, registry, { docs: store });
    const base = await Pipeline.build({ retrievers: [{ plugin: 'bool', options: { boolean: false } }] }, registry, { docs: store });
    const hits = await bool.search(q, { k: 5 });
    expect(hits).toHaveLength(5);
    const baseHits = await base.search(q, { k: 400 });
    const rank = (h: { id: string }[], id: string) => h.findIndex((x) => x.id === id);
    // The excluded document falls in the ranking once the NOT scope is dropped.
    expect(rank(await bool.search(q, { k: 400 }), docs[7]!.id)).toBeGreaterThan(rank(baseHits, docs[7]!.id));
    const dir = join(mkdtempSync(join(tmpdir(), 'bool-plugin-')), 'pipe');
    await bool.save(dir);
    const loaded = await Pipeline.load(dir, registry);
    expect(await loaded.search(q, { k: 5 })).toEqual(hits);
    // Plain queries without cues: the modules leave the vector (almost) unchanged.
    const plain = docs[5]!.title!;
    expect((await bool.search(plain, { k: 3 })).map((h) => h.id)).toEqual((await base.search(plain, { k: 3 })).map((h) => h.id));
  });

  it('rejects unknown options and a base encoder the modules were not trained on', async () => {
    await expect(Pipeline.build({ retrievers: [{ plugin: 'bool', options: { modell: 'x' } }] }, registry, { docs: new MemoryDocStore(docs) })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const other = bundledModelDir('scifact-static-selfsup');
    const error = await loadBoolEncoder(bundledBoolModelDir(), { encoder: other }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BoolModelError);
    expect((error as BoolModelError).code).toBe('MODEL_INVALID');
    expect((error as Error).message).toMatch(/retrain the modules/);
    expect((await loadBoolEncoder(bundledBoolModelDir(), { encoder: other, allowOtherBase: true })).dim).toBe(256);
  });
});
