import { appendFile, writeFile } from 'node:fs/promises';
import { evaluate, formatTrecRun, loadSplit, openBeirDataset, writeFileAtomic, type Hit, type PipelineConfig, type PluginRegistry, type ProgressCallback } from '@quarry/core';
import { buildOrLoadPipeline } from './cache.js';

export const REPORTED_METRICS = ['ndcg@10', 'recall@100', 'recall@1000', 'mrr@10', 'map'] as const;

export interface EvalReport {
  dataset: string;
  pipeline: string;
  split: string;
  queries: number;
  k: number;
  metrics: Record<string, number>;
  /** Queries per second of the search phase alone (index build excluded), one process. */
  qps: number;
  buildSeconds: number;
  cached: boolean;
}

/** Builds (or loads) the pipeline, runs every query of the split at depth k, and scores the run as trec_eval -c would. */
export async function runEvaluation(options: {
  datasetDir: string;
  split: string;
  config: PipelineConfig;
  registry: PluginRegistry;
  k: number;
  useCache: boolean;
  runFile?: string;
  /** One JSON line per query: `{ id, query, hits, ...explain }` (the first hit's `explain`, e.g. `lamer: { prompt, answers, augmentedQuery }`), written as queries finish. */
  traceFile?: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}): Promise<EvalReport> {
  const dataset = openBeirDataset(options.datasetDir);
  const { queries, qrels } = await loadSplit(dataset, options.split);
  const { pipeline, cached, buildSeconds } = await buildOrLoadPipeline(dataset, options.config, options.registry, {
    useCache: options.useCache,
    onProgress: options.onProgress,
    signal: options.signal,
  });
  const run = new Map<string, Hit[]>();
  const batch = 32;
  if (options.traceFile) await writeFile(options.traceFile, '');
  const started = performance.now();
  for (let i = 0; i < queries.length; i += batch) {
    const chunk = queries.slice(i, i + batch);
    const results = await pipeline.searchBatch(chunk, { k: options.k, signal: options.signal });
    chunk.forEach((q, j) => run.set(q.id, results[j]!));
    if (options.traceFile) await appendFile(options.traceFile, chunk.map((q, j) => `${JSON.stringify({ id: q.id, query: q.text, hits: results[j]!.length, ...results[j]![0]?.explain })}\n`).join(''));
    options.onProgress?.({ phase: `search ${options.split}`, done: Math.min(i + batch, queries.length), total: queries.length });
  }
  const seconds = (performance.now() - started) / 1000;
  if (options.runFile) await writeFileAtomic(options.runFile, formatTrecRun(run, options.config.name));
  const result = evaluate(run, qrels, [...REPORTED_METRICS]);
  return {
    dataset: options.datasetDir,
    pipeline: options.config.name,
    split: options.split,
    queries: queries.length,
    k: options.k,
    metrics: result.metrics,
    qps: queries.length / seconds,
    buildSeconds,
    cached,
  };
}
