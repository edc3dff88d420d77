import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openBeirDataset } from '@quarry/core';
import { buildOrLoadPipeline, cacheRoot, defaultRegistry, pipelineCacheKey, resolvePipeline } from '../src/index.js';
import { scifact, useTemporaryCache } from './helpers.js';

beforeAll(useTemporaryCache);

describe('pipeline cache', () => {
  it('rebuilds a damaged entry, but reports a cancelled load instead of rebuilding', async () => {
    const registry = defaultRegistry();
    const dataset = openBeirDataset(scifact);
    const config = await resolvePipeline('bm25', registry);
    const first = await buildOrLoadPipeline(dataset, config, registry, { useCache: true });
    expect(first.cached).toBe(false);
    const dir = join(cacheRoot(), 'pipelines', await pipelineCacheKey(dataset, config));
    expect((await buildOrLoadPipeline(dataset, config, registry, { useCache: true })).cached).toBe(true);

    const stage = join(dir, 'retriever-0');
    const victim = readdirSync(stage).find((f) => f !== 'manifest.json')!;
    writeFileSync(join(stage, victim), 'damaged');
    const rebuilt = await buildOrLoadPipeline(dataset, config, registry, { useCache: true });
    expect(rebuilt.cached).toBe(false);
    expect(await rebuilt.pipeline.search('vitamin D', { k: 3 })).toEqual(await first.pipeline.search('vitamin D', { k: 3 }));

    const ac = new AbortController();
    ac.abort();
    await expect(buildOrLoadPipeline(dataset, config, registry, { useCache: true, signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
