import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { ConfigError, closestMatch, parsePipelineConfig, type ConfigSource, type PipelineConfig, type PipelineConfigInput, type PluginRegistry } from '@quarry/core';
import { parse as parseYaml } from 'yaml';
import { trustEndpoint } from '@quarry/llm';
import { resolvePathOptions } from './config-paths.js';
import { allowedPlugins, registerExternalPlugins } from './external-plugins.js';
import { routeToStore } from './store-flag.js';

/** Pipelines available by name. Each is a plain config, the same a user could write to a file. */
export const builtinPipelines: Record<string, PipelineConfigInput> = {
  bm25: {
    name: 'bm25',
    description: "Lucene BM25 (k1=0.9, b=0.4) with Lucene's English analyzer, title + text (Anserini 'flat').",
    retrievers: [{ plugin: 'bm25' }],
  },
  dense: {
    name: 'dense',
    description: "Quarry's own static encoder (trained on SciFact train + corpus pairs), exact cosine search.",
    retrievers: [{ plugin: 'dense' }],
  },
  'dense-hnsw': {
    name: 'dense-hnsw',
    description: 'The own encoder over an HNSW index (M=16, efConstruction=200, ef=64).',
    retrievers: [{ plugin: 'dense', options: { index: 'hnsw' } }],
  },
  hybrid: {
    name: 'hybrid',
    description: 'bm25 + dense, reciprocal rank fusion (k=60) over each top 100.',
    retrievers: [{ plugin: 'bm25' }, { plugin: 'dense' }],
    fusion: { method: 'rrf', k: 60 },
    depth: 100,
  },
  'hybrid-adaptive': {
    name: 'hybrid-adaptive',
    description:
      'bm25 + dense, query-adaptive RRF (k=60) over each top 100: per query, the dense weight comes from its confidence and its agreement with bm25 (a trust model fitted on SciFact train by tools/adaptive-fusion.mjs), leaning on bm25 when dense is unsure.',
    retrievers: [{ plugin: 'bm25' }, { plugin: 'dense' }],
    // Output of `node tools/adaptive-fusion.mjs fit` (out-of-sample dense runs of SciFact train queries only).
    fusion: {
      method: 'adaptive',
      k: 60,
      intercept: -3.509,
      coefficients: {
        anchorTop1: -0.003084,
        anchorZ1: -0.1649,
        anchorMargin: -0.2041,
        otherTop1: 3.288,
        otherZ1: 0.109,
        otherMargin: 0.4361,
        overlap10: 0.09719,
        anchorTopInOther: 1.478,
        otherTopInAnchor: 0.7827,
      },
    },
    depth: 100,
  },
  'hybrid-fusion': {
    name: 'hybrid-fusion',
    description: 'bm25 + dense, min-max normalised score fusion (1:1) over each top 100.',
    retrievers: [{ plugin: 'bm25' }, { plugin: 'dense' }],
    fusion: { method: 'weighted', normalization: 'minmax' },
    depth: 100,
  },
  colbert: {
    name: 'colbert',
    description: 'ColBERT full retrieval: the own token model over a PLAID-style index (64-d Matryoshka tokens, 2-bit residuals).',
    retrievers: [{ plugin: 'colbert' }],
  },
  'colbert-rerank': {
    name: 'colbert-rerank',
    description: "bm25 top 100 reranked by exact MaxSim over the own token model's vectors (stored at index time, int8; --storage fp32|fp16|int8|residual-4|residual-2|none).",
    retrievers: [{ plugin: 'bm25' }],
    reranker: { plugin: 'colbert', depth: 100 },
    depth: 100,
  },
  'colbert-rerank-hybrid': {
    name: 'colbert-rerank-hybrid',
    description: "hybrid (bm25 + dense, RRF k=60) top 100 reranked by exact MaxSim over the own token model's stored vectors.",
    retrievers: [{ plugin: 'bm25' }, { plugin: 'dense' }],
    fusion: { method: 'rrf', k: 60 },
    reranker: { plugin: 'colbert', depth: 100 },
    depth: 100,
  },
  lamer: {
    name: 'lamer',
    description:
      'LameR over BM25 (M=10, n=5, q a1 q a2 ...). Default answers: extractive (no LLM; own-encoder sentence selection, fused with the first round); --generator openai --llm-url URL --llm-model NAME for an LLM.',
    retrievers: [{ plugin: 'lamer' }],
  },
  hyde: {
    name: 'hyde',
    description: 'HyDE baseline over BM25 (LLM answers without candidates, q a1 q a2 ...); needs an LLM: --llm-url URL --llm-model NAME (or QUARRY_LLM_URL, QUARRY_LLM_MODEL).',
    retrievers: [{ plugin: 'lamer', options: { mode: 'hyde', generator: 'openai' } }],
  },
  bool: {
    name: 'bool',
    description: 'Boolean-aware query encoding (@quarry/bool-attn: learned cue/scope/bias/gate modules over the own static encoder); for Boolean queries, e.g. the scifact-bool benchmark.',
    retrievers: [{ plugin: 'bool' }],
  },
  'bool-baseline': {
    name: 'bool-baseline',
    description: 'The same own static encoder without the Boolean modules (the baseline of `bool`), exact cosine search.',
    retrievers: [{ plugin: 'bool', options: { boolean: false } }],
  },
  llm2gr: {
    name: 'llm2gr',
    description:
      'LLM2GR generative retrieval: trie-constrained titles (beam 15, keep 2), FM-index-constrained 16-token passage prefixes (beam 10), 0.9 title + 0.1 passage. Default scorer: corpus statistics, no LLM; --scorer onnx --model DIR or --scorer openai --model TOKENIZER_DIR --llm-url URL --llm-model NAME.',
    retrievers: [{ plugin: 'llm2gr' }],
  },
};

/** Built-in pipelines that call an LLM server are available (e.g. to `quarry demo`) only once a model is configured. */
function llmConfigured(cfg: PipelineConfigInput): boolean {
  const wantsLlm = cfg.retrievers.some((r) => (r.options as Record<string, unknown> | undefined)?.['generator'] === 'openai');
  return !wantsLlm || Boolean(process.env['QUARRY_LLM_MODEL']);
}

/** Names of built-in pipelines whose plugins are all registered. */
export function availablePipelines(registry: PluginRegistry): string[] {
  return Object.entries(builtinPipelines)
    .filter(([, cfg]) => llmConfigured(cfg))
    .filter(
      ([, cfg]) =>
        cfg.retrievers.every((r) => registry.has('retriever', r.plugin)) &&
        (!cfg.reranker || registry.has('reranker', cfg.reranker.plugin)) &&
        (!cfg.rewriter || registry.has('rewriter', cfg.rewriter.plugin)),
    )
    .map(([name]) => name);
}

/**
 * Resolves `--pipeline NAME|FILE` to a validated config, then applies plugin CLI
 * flags (e.g. `--k1 1.2`) to every stage whose plugin declares them.
 */
export async function resolvePipeline(spec: string, registry: PluginRegistry, flags: Record<string, unknown> = {}): Promise<PipelineConfig> {
  let raw: unknown;
  if (builtinPipelines[spec]) raw = structuredClone(builtinPipelines[spec]);
  else if (existsSync(spec)) {
    const text = readFileSync(spec, 'utf8');
    try {
      raw = ['.yaml', '.yml'].includes(extname(spec)) ? parseYaml(text) : JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`Could not parse pipeline file ${spec}: ${(error as Error).message}`);
    }
  } else {
    throw unknownPipeline(spec, registry);
  }
  // Errors in a pipeline file name the file (and the path in it, e.g. retrievers[0].options.bb).
  const source: ConfigSource = builtinPipelines[spec] ? {} : { file: spec };
  const config = parsePipelineConfig(raw, undefined, source);
  // Only plugins the user allowed (--plugin / QUARRY_PLUGINS), never resolved from the pipeline file's folder.
  await registerExternalPlugins(config, registry, { allow: allowedPlugins(flags['plugin']) });
  // Path options written in a pipeline file resolve under its folder; flags (applied below) stay as given.
  if (!builtinPipelines[spec]) resolvePathOptions(config, registry, dirname(resolve(spec)), spec);
  routeToStore(config, flags);
  applyPluginFlags(config, registry, flags, source);
  return parsePipelineConfig(config, registry, source);
}

/** `Unknown pipeline "bm52" (did you mean "bm25"?)`, listing the built-in pipelines. */
export function unknownPipeline(spec: string, registry: PluginRegistry): ConfigError {
  const names = availablePipelines(registry);
  const suggestion = closestMatch(spec, names);
  return new ConfigError(`Unknown pipeline "${spec}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}. Use one of: ${names.join(', ')}, or the path of a JSON/YAML pipeline file.`);
}

function applyPluginFlags(config: PipelineConfig, registry: PluginRegistry, flags: Record<string, unknown>, source: ConfigSource): void {
  const stages = [
    ...config.retrievers.map((s, i) => ['retriever', s, ['retrievers', i, 'plugin']] as const),
    ...(config.rewriter ? [['rewriter', config.rewriter, ['rewriter', 'plugin']] as const] : []),
    ...(config.reranker ? [['reranker', config.reranker, ['reranker', 'plugin']] as const] : []),
  ];
  for (const [kind, stage, path] of stages) {
    const plugin = registry.get(kind, stage.plugin, { ...source, path });
    for (const opt of plugin.cliOptions ?? []) {
      if (flags[opt.flag] === undefined) continue;
      stage.options[opt.option] = flags[opt.flag];
      // The user typed this LLM endpoint: the environment's API key may go there (a URL read
      // from a pipeline file or an index manifest gets it only if the environment names it).
      if (opt.flag === 'llm-url') trustEndpoint(String(flags[opt.flag]));
    }
  }
}
