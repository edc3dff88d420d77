import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortError, ConfigError, MemoryDocStore, Pipeline, PluginRegistry, type Persistable } from '@quarry/core';
import { Bm25Index, bm25Plugin } from '../src/index.js';

const docs = new MemoryDocStore([
  { id: 'a', text: 'Vitamin D reduces fractures.' },
  { id: 'b', text: 'Smoking causes lung cancer.' },
  { id: 'c', text: 'Aspirin and heart attacks.' },
]);
const registry = new PluginRegistry().register(bm25Plugin);
const root = mkdtempSync(join(tmpdir(), 'bm25-plugin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bm25Plugin', () => {
  it('is a retriever plugin named bm25 with Anserini defaults', () => {
    expect(bm25Plugin.kind).toBe('retriever');
    expect(bm25Plugin.name).toBe('bm25');
    expect(registry.validate('retriever', 'bm25', {})).toEqual({ k1: 0.9, b: 0.4, analyzer: 'english', lossyNorms: true });
  });

  it('validates options with bounds and names the offending ones', () => {
    expect(registry.validate('retriever', 'bm25', { k1: 1.2, b: 0.75, analyzer: 'simple', lossyNorms: false })).toMatchObject({ k1: 1.2, analyzer: 'simple' });
    for (const bad of [{ k1: -0.1 }, { k1: 11 }, { b: 1.5 }, { b: -1 }, { analyzer: 'french' }, { lossyNorms: 'yes' }, { k_1: 1 }]) {
      expect(() => registry.validate('retriever', 'bm25', bad)).toThrow(ConfigError);
    }
    expect(() => registry.validate('retriever', 'bm25', { b: 2 })).toThrow(/b:/);
  });

  it('declares --k1 and --b for the CLI', () => {
    expect(bm25Plugin.cliOptions?.map((o) => [o.flag, o.option, o.type])).toEqual([
      ['k1', 'k1', 'number'],
      ['b', 'b', 'number'],
    ]);
  });

  it('creates an index over ctx.docs, reporting progress and honouring the signal', async () => {
    const events: unknown[] = [];
    const options = registry.validate('retriever', 'bm25', { k1: 1.2 }) as Parameters<typeof bm25Plugin.create>[0];
    const retriever = await bm25Plugin.create(options, { docs, onProgress: (e) => events.push(e) });
    expect(retriever).toBeInstanceOf(Bm25Index);
    expect((retriever as Bm25Index).k1).toBe(1.2);
    expect((await retriever.search('lung cancer')).map((h) => h.id)).toEqual(['b']);
    expect(events).toEqual([{ phase: 'index', done: 3, total: 3 }]);
    await expect(bm25Plugin.create(options, { docs, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it('loads what it saved, and refuses an analyzer mismatch', async () => {
    const options = registry.validate('retriever', 'bm25', {}) as Parameters<typeof bm25Plugin.create>[0];
    const built = await bm25Plugin.create(options, { docs });
    const dir = join(root, 'saved');
    await (built as unknown as Persistable).save(dir);
    const loaded = await bm25Plugin.load!(dir, options);
    expect(await loaded.search('heart aspirin')).toEqual(await built.search('heart aspirin'));
    await expect(bm25Plugin.load!(dir, { ...options, analyzer: 'simple' })).rejects.toThrow(/built with analyzer "english", but the options ask for "simple"/);
  });

  it('runs inside a core Pipeline, which saves and restores it', async () => {
    const pipeline = await Pipeline.build({ retrievers: [{ plugin: 'bm25', options: { b: 0.5 } }] }, registry, { docs });
    const hits = await pipeline.search('vitamin fractures');
    expect(hits[0]?.id).toBe('a');
    const dir = join(root, 'pipeline');
    await pipeline.save(dir);
    const restored = await Pipeline.load(dir, registry);
    expect(await restored.search('vitamin fractures')).toEqual(hits);
  });
});
