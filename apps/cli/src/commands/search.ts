import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, MANIFEST_FILE, Pipeline, openBeirDataset, type PipelineConfig, type PluginRegistry } from '@quarry/core';
import { intOption, parseCommandArgs, pluginOptions, type OptionSpecs } from '../args.js';
import { buildOrLoadPipeline } from '../cache.js';
import { allowedPlugins, registerExternalPlugins } from '../external-plugins.js';
import { builtinPipelines, resolvePipeline } from '../pipelines.js';
import { progressBar } from '../progress.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  index: { type: 'string', description: 'a folder written by `quarry index`', valueName: 'DIR' },
  dataset: { type: 'string', description: 'or: a BEIR folder to build (and cache) the pipeline from', valueName: 'DIR' },
  // No parser default: with --index, only a --pipeline the user typed is checked against the saved one.
  pipeline: { type: 'string', description: 'with --dataset: pipeline name or file (default bm25); with --index: must be the pipeline the index holds', valueName: 'NAME|FILE' },
  k: { type: 'string', default: '10', description: 'number of hits (default 10)', valueName: 'N' },
  json: { type: 'boolean', description: 'print one JSON object {query, hits:[{id,score,title}], ...}' },
  'no-cache': { type: 'boolean', description: 'with --dataset: do not use or write the pipeline cache' },
  quiet: { type: 'boolean', description: 'no progress output' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const searchCommand: Command = {
  name: 'search',
  usage: 'quarry search (--index DIR | --dataset DIR --pipeline NAME|FILE) [--k 10] [--json] "query"',
  summary: 'Search a saved index, or a dataset through a (cached) pipeline, and print the top hits.',
  specs: (registry) => ({ ...specs, ...pluginOptions(registry) }),
  async run(argv, { registry, out, signal }) {
    const { values, positionals } = parseCommandArgs(argv, this.specs(registry), registry);
    const text = positionals.join(' ').trim();
    if (!text) throw new ConfigError('quarry search needs the query text as an argument, e.g. quarry search --index DIR "my query".');
    if (!values['index'] === !values['dataset']) throw new ConfigError('quarry search needs exactly one of --index DIR or --dataset DIR.');
    const k = intOption(values, 'k', 10);
    const bar = progressBar(!values['quiet']);
    let pipeline: Pipeline;
    if (values['index']) {
      const dir = String(values['index']);
      if (values['pipeline'] !== undefined) await assertIndexHolds(dir, String(values['pipeline']), registry, values);
      // Third-party plugins the saved config names are registered only after the manifest and
      // checksums are verified, and only if allowed (--plugin / QUARRY_PLUGINS); never from the index folder.
      const beforeStages = (saved: PipelineConfig) => registerExternalPlugins(saved, registry, { allow: allowedPlugins(values['plugin']) });
      pipeline = await Pipeline.load(dir, registry, { signal }, { beforeStages });
    } else {
      const config = await resolvePipeline(String(values['pipeline'] ?? 'bm25'), registry, values);
      pipeline = (await buildOrLoadPipeline(openBeirDataset(String(values['dataset'])), config, registry, { useCache: !values['no-cache'], onProgress: bar, signal })).pipeline;
    }
    bar.done();
    const hits = await pipeline.search({ id: 'q', text }, { k, signal });
    if (values['json']) {
      out(
        JSON.stringify({
          query: text,
          pipeline: pipeline.name,
          k,
          hits: hits.map((h) => ({ id: h.id, score: h.score, title: pipeline.docs.get(h.id)?.title ?? null, ...(h.explain ? { explain: h.explain } : {}) })),
        }),
      );
      return;
    }
    // What plugins explain (LLM2GR's generated titles, prefix and passage; a rewritten query...):
    // entries equal for every hit print once above the list, the others under their hit.
    const shared = explainShared(hits);
    for (const [key, value] of Object.entries(shared)) out(formatExplain(key, value, ''));
    hits.forEach((h, i) => {
      const doc = pipeline.docs.get(h.id);
      const label = doc?.title || (doc?.text ?? '').slice(0, 80);
      out(`${String(i + 1).padStart(3)}. ${h.score.toFixed(4)}  ${h.id}  ${label}`);
      for (const [key, value] of Object.entries(h.explain ?? {})) if (!(key in shared) && value !== null && value !== undefined) out(formatExplain(key, value, '       '));
    });
    if (hits.length === 0) out('(no hits)');
  },
};

/**
 * `--index DIR --pipeline X` searches what DIR holds, so an X that disagrees with it is an
 * error rather than silently ignored: a name must be the saved pipeline's name, a file must
 * resolve to the saved config. An unreadable manifest is left to Pipeline.load to report.
 */
async function assertIndexHolds(dir: string, spec: string, registry: PluginRegistry, flags: Record<string, unknown>): Promise<void> {
  let saved: PipelineConfig | undefined;
  try {
    saved = (JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as { meta?: { config?: PipelineConfig } }).meta?.config;
  } catch {
    return;
  }
  if (!saved || typeof saved.name !== 'string') return;
  const holds = `The index ${dir} holds pipeline "${saved.name}"`;
  if (builtinPipelines[spec] || !existsSync(spec)) {
    if (spec !== saved.name)
      throw new ConfigError(
        `${holds}, not "${spec}". Drop --pipeline (the index knows its pipeline), or build "${spec}" with quarry index --pipeline ${spec}, or search it with --dataset DIR --pipeline ${spec}.`,
      );
    return;
  }
  const asked = await resolvePipeline(spec, registry, flags);
  if (stableJson(asked) !== stableJson(saved)) {
    throw new ConfigError(
      `${holds}, whose config differs from ${spec} (pipeline "${asked.name}"). Drop --pipeline to search what the index holds, or rebuild it with quarry index --pipeline ${spec}.`,
    );
  }
}

/** JSON with object keys sorted, so two configs compare by content. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

/** Explain entries with the same value in every hit. */
function explainShared(hits: readonly { explain?: Record<string, unknown> }[]): Record<string, unknown> {
  const first = hits[0]?.explain;
  if (!first) return {};
  return Object.fromEntries(
    Object.entries(first).filter(([key, value]) => value !== null && value !== undefined && hits.every((h) => h.explain && JSON.stringify(h.explain[key]) === JSON.stringify(value))),
  );
}

/** `key: value` on one line, or a list (one item per line; objects as their values joined by "  "). */
function formatExplain(key: string, value: unknown, indent: string): string {
  const one = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : typeof v === 'string' ? v : JSON.stringify(v));
  if (Array.isArray(value)) {
    const items = value.map((v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.values(v).map(one).join('  ') : one(v)));
    return [`${indent}${key}:`, ...items.map((item) => `${indent}  - ${item}`)].join('\n');
  }
  return `${indent}${key}: ${one(value)}`;
}
