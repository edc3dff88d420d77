import { existsSync } from 'node:fs';
import { ConfigError, closestMatch, Pipeline, QuarryError, openBeirDataset, parsePipelineConfig, type PipelineConfig, type PluginRegistry, type ProgressCallback } from '@quarry/core';
import { buildOrLoadPipeline, builtinPipelines, registerExternalPlugins, resolvePathOptions, resolvePipeline } from '@quarry/cli';
import type { PipelineSource, ServerConfig } from './config.js';

/** A pipeline the server answers for, loaded once at start. */
export interface ServedPipeline {
  name: string;
  pipeline: Pipeline;
  /** Where it came from, with paths as written in the config (never absolute paths). */
  source: { kind: 'dataset'; dataset: string; pipeline: string | null } | { kind: 'index'; index: string };
  description?: string;
  /** Seconds it took to build or load. */
  loadSeconds: number;
  /** Whether it came from the pipeline cache (dataset entries) or a saved index. */
  cached: boolean;
}

export interface LoadOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Called after each pipeline is ready (for logging). */
  onLoaded?(served: ServedPipeline): void;
}

/** Builds or loads every pipeline of the config, in order; the first failure stops the start, naming its pipeline. */
export async function loadPipelines(config: ServerConfig, registry: PluginRegistry, options: LoadOptions = {}): Promise<ServedPipeline[]> {
  const served: ServedPipeline[] = [];
  for (const { name, source } of config.pipelines) {
    try {
      const one = await loadOne(name, source, config.baseDir, registry, options, config.file);
      served.push(one);
      options.onLoaded?.(one);
    } catch (error) {
      throw withPipelineName(name, error);
    }
  }
  return served;
}

async function loadOne(name: string, source: PipelineSource, baseDir: string, registry: PluginRegistry, options: LoadOptions, file?: string): Promise<ServedPipeline> {
  const started = performance.now();
  if (source.kind === 'index') {
    // Third-party plugins: only those allowed in QUARRY_PLUGINS, registered after the manifest is verified.
    const beforeStages = (saved: PipelineConfig) => registerExternalPlugins(saved, registry);
    const pipeline = await Pipeline.load(source.indexDir, registry, { signal: options.signal, onProgress: options.onProgress }, { beforeStages });
    return {
      name,
      pipeline,
      source: { kind: 'index', index: source.index },
      description: source.description ?? pipeline.config.description,
      loadSeconds: (performance.now() - started) / 1000,
      cached: true,
    };
  }
  let config: PipelineConfig;
  if (typeof source.pipeline === 'string') {
    if (source.pipelineFile && !existsSync(source.pipelineFile)) {
      const suggestion = closestMatch(source.pipeline, Object.keys(builtinPipelines));
      throw new ConfigError(`"${source.pipeline}" is neither a built-in pipeline${suggestion ? ` (did you mean "${suggestion}"?)` : ''} nor a pipeline file (looked for ${source.pipelineFile}).`);
    }
    config = await resolvePipeline(source.pipelineFile ?? source.pipeline, registry);
  } else {
    // Errors in an inline pipeline name the config file and the path in it (pipelines.NAME.pipeline.retrievers[0].options.bb).
    const at = { ...(file ? { file } : {}), path: ['pipelines', name, 'pipeline'] };
    const raw = parsePipelineConfig({ name, ...source.pipeline }, undefined, at);
    await registerExternalPlugins(raw, registry);
    // Model and cache folders named inline resolve under the config file's folder, like its other paths.
    resolvePathOptions(raw, registry, baseDir, file ?? 'server config');
    config = parsePipelineConfig(raw, registry, at);
  }
  const { pipeline, cached } = await buildOrLoadPipeline(openBeirDataset(source.datasetDir), config, registry, {
    useCache: source.cache,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  return {
    name,
    pipeline,
    source: { kind: 'dataset', dataset: source.dataset, pipeline: typeof source.pipeline === 'string' ? source.pipeline : null },
    description: source.description ?? config.description,
    loadSeconds: (performance.now() - started) / 1000,
    cached,
  };
}

function withPipelineName(name: string, error: unknown): unknown {
  if (error instanceof ConfigError) return new ConfigError(`pipeline "${name}": ${error.message}`, error.issues);
  if (error instanceof QuarryError) return new QuarryError(error.code, `pipeline "${name}": ${error.message}`, { ...error.details, pipeline: name }, { cause: error });
  return error;
}
