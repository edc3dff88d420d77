import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MemoryDocStore, Pipeline, QuarryError, readCorpus, type BeirDataset, type PipelineConfig, type PluginRegistry, type ProgressCallback } from '@quarry/core';

/** Where built pipelines are cached: $QUARRY_CACHE_DIR, else $XDG_CACHE_HOME/quarry, else ~/.cache/quarry. */
export function cacheRoot(): string {
  return process.env['QUARRY_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'quarry');
}

async function fileHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Cache key: the corpus bytes and the validated pipeline config, so any change rebuilds. */
export async function pipelineCacheKey(dataset: BeirDataset, config: PipelineConfig): Promise<string> {
  const corpus = await fileHash(dataset.corpusFile);
  return createHash('sha256').update(corpus).update(JSON.stringify(config)).digest('hex').slice(0, 24);
}

/**
 * Loads the pipeline for (dataset, config) from the cache, or builds and caches it.
 * `useCache: false` always builds and writes nothing.
 */
export async function buildOrLoadPipeline(
  dataset: BeirDataset,
  config: PipelineConfig,
  registry: PluginRegistry,
  options: { useCache: boolean; onProgress?: ProgressCallback; signal?: AbortSignal },
): Promise<{ pipeline: Pipeline; cached: boolean; buildSeconds: number }> {
  const started = performance.now();
  const dir = options.useCache ? join(cacheRoot(), 'pipelines', await pipelineCacheKey(dataset, config)) : undefined;
  const context = { onProgress: options.onProgress, signal: options.signal, cacheDir: options.useCache ? join(cacheRoot(), 'plugins') : undefined };
  if (dir && existsSync(join(dir, 'manifest.json'))) {
    try {
      const pipeline = await Pipeline.load(dir, registry, context);
      return { pipeline, cached: true, buildSeconds: (performance.now() - started) / 1000 };
    } catch (error) {
      // Only a damaged or outdated cache entry is rebuilt (and overwritten atomically);
      // anything else (a cancelled run, a plugin failing) is the user's to see.
      if (!(error instanceof QuarryError) || !['INDEX_CORRUPT', 'INDEX_VERSION'].includes(error.code)) throw error;
    }
  }
  const docs = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile));
  const pipeline = await Pipeline.build(config, registry, { ...context, docs });
  // The entry is the cache's own folder: a damaged one (torn manifest, stray file) is replaced.
  if (dir) await pipeline.save(dir, { overwrite: true });
  return { pipeline, cached: false, buildSeconds: (performance.now() - started) / 1000 };
}
