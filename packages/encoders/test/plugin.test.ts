import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { MemoryDocStore, Pipeline, PluginRegistry, docText, readCorpus, type Doc } from '@quarry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MatryoshkaEncoder, ParallelStaticEncoder, bundledModelDir, densePlugin, loadEncoder, loadOwnModel, type StaticEncoder } from '../src/index.js';
import { PKG, SCIFACT, tempDir } from './helpers.js';

let docs: MemoryDocStore;
beforeAll(async () => {
  const list: Doc[] = [];
  for await (const d of readCorpus(join(SCIFACT, 'corpus.jsonl.gz'))) {
    list.push(d);
    if (list.length === 300) break;
  }
  docs = new MemoryDocStore(list);
});

describe('the dense retriever plugin', () => {
  it('validates its options and exposes --encoder / --dim / --dense-index', () => {
    const registry = new PluginRegistry().register(densePlugin);
    expect(registry.validate('retriever', 'dense', {})).toMatchObject({ index: 'flat', batchSize: 1024 });
    expect(() => registry.validate('retriever', 'dense', { index: 'ivf' })).toThrow(/index/);
    expect(() => registry.validate('retriever', 'dense', { dims: 3 })).toThrow(/dims/);
    expect(densePlugin.cliOptions.map((o) => o.flag)).toEqual(['encoder', 'dim', 'dense-index']);
  });

  it('indexes with the bundled model by default and finds a document by its own title', async () => {
    const registry = new PluginRegistry().register(densePlugin);
    const pipeline = await Pipeline.build({ retrievers: [{ plugin: 'dense', options: {} }] }, registry, { docs });
    const target = [...docs][42]!;
    const hits = await pipeline.search(target.title!, { k: 5 });
    expect(hits[0]!.id).toBe(target.id);
  });

  it('Matryoshka dim and HNSW; saves and loads through the pipeline', async () => {
    const registry = new PluginRegistry().register(densePlugin);
    const config = { retrievers: [{ plugin: 'dense', options: { dim: 64, index: 'hnsw' } }] };
    const pipeline = await Pipeline.build(config, registry, { docs });
    const query = [...docs][7]!.title!;
    const before = await pipeline.search(query, { k: 3 });
    const dir = join(tempDir(), 'pipe');
    await pipeline.save(dir);
    const loaded = await Pipeline.load(dir, registry);
    expect(await loaded.search(query, { k: 3 })).toEqual(before);
    expect(before[0]!.id).toBe([...docs][7]!.id);
  });

  it.skipIf(!existsSync(join(PKG, 'dist', 'encode-worker.js')))('ParallelStaticEncoder (built worker) gives the single-thread vectors', async () => {
    const dir = bundledModelDir();
    const local = (await loadOwnModel(dir)) as StaticEncoder;
    const parallel = await ParallelStaticEncoder.start(dir, local, 2, join(PKG, 'dist', 'encode-worker.js'));
    expect(parallel).toBeInstanceOf(ParallelStaticEncoder);
    const texts = [...docs].map(docText);
    const a = await local.encode(texts, { role: 'document', dim: 128 });
    const b = await parallel.encode(texts, { role: 'document', dim: 128 });
    expect(b.rows).toBe(300);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    await (parallel as ParallelStaticEncoder).release();
  });

  it('MatryoshkaEncoder encodes at the prefix dim', async () => {
    const enc = await loadEncoder(bundledModelDir());
    const m = new MatryoshkaEncoder(enc, 32);
    const v = await m.encode(['aspirin'], { role: 'query' });
    expect(v.cols).toBe(32);
    expect(() => new MatryoshkaEncoder(enc, enc.dim + 1)).toThrow(/Matryoshka dim/);
  });
});
