import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MemoryDocStore } from './doc-store.js';
import { QuarryError, throwIfAborted } from './errors.js';
import { adaptiveRankFusion, FUSION_FEATURES, reciprocalRankFusion, weightedScoreFusion } from './fusion.js';
import { openIndexDir, safeJoin, saveIndexDir, type SaveIndexOptions } from './persist.js';
import type { Persistable, PluginContext, PluginKind, PluginRegistry } from './registry.js';
import { parseConfig, z, type ConfigSource } from './schema.js';
import type { Doc, DocStore, Hit, Query, QueryRewriter, Reranker, Retriever, SearchOptions } from './types.js';

// Strict throughout: a misspelled key (`rerankr:`, `normalisation:`) fails instead of being ignored.
const stageSchema = z.strictObject({
  plugin: z.string().min(1),
  options: z.record(z.string(), z.unknown()).default({}),
});

export const fusionSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('rrf'), k: z.number().nonnegative().default(60), weights: z.array(z.number()).optional() }),
  z.strictObject({
    method: z.literal('weighted'),
    weights: z.array(z.number()).optional(),
    normalization: z.enum(['none', 'minmax', 'zscore']).default('minmax'),
  }),
  // Query-adaptive RRF: per query, trust in each non-anchor retriever = σ(intercept + Σ coefficient · feature).
  z.strictObject({
    method: z.literal('adaptive'),
    k: z.number().nonnegative().default(60),
    anchor: z.number().int().nonnegative().default(0),
    intercept: z.number(),
    coefficients: z.partialRecord(z.enum(FUSION_FEATURES), z.number()).default({}),
  }),
]);

/**
 * A pipeline as plain data (JSON or YAML file, or an object in code):
 * rewriter? -> retrievers (each to `depth`) -> fusion -> reranker? -> top k.
 */
export const pipelineConfigSchema = z
  .strictObject({
    name: z.string().min(1).default('custom'),
    description: z.string().optional(),
    retrievers: z.array(stageSchema).min(1, 'a pipeline needs at least one retriever'),
    rewriter: stageSchema.optional(),
    fusion: fusionSchema.optional(),
    reranker: stageSchema.extend({ depth: z.number().int().positive().default(100) }).optional(),
    /** Candidates each retriever contributes to fusion (pipelines with several retrievers). */
    depth: z.number().int().positive().default(1000),
  })
  .check((ctx) => {
    const fusion = ctx.value.fusion;
    if (fusion?.method === 'adaptive' && fusion.anchor >= ctx.value.retrievers.length) {
      ctx.issues.push({ code: 'custom', input: fusion.anchor, path: ['fusion', 'anchor'], message: `anchor ${fusion.anchor} names no retriever (the pipeline has ${ctx.value.retrievers.length})` });
    }
  });

export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;

/**
 * Validates a pipeline config; with a registry, every stage's options against its plugin.
 * `source` names the file (and the config's path in it) that errors then point at.
 */
export function parsePipelineConfig(value: unknown, registry?: PluginRegistry, source: ConfigSource = {}): PipelineConfig {
  const config = parseConfig(pipelineConfigSchema, value, 'pipeline config', source);
  if (registry) {
    // Validate every stage now so a bad option fails before any index is built.
    const at = source.path ?? [];
    const stages: [PluginKind, z.output<typeof stageSchema> | undefined, (string | number)[]][] = [
      ...config.retrievers.map((s, i) => ['retriever', s, [...at, 'retrievers', i]] as [PluginKind, typeof s, (string | number)[]]),
      ['rewriter', config.rewriter, [...at, 'rewriter']],
      ['reranker', config.reranker, [...at, 'reranker']],
    ];
    for (const [kind, stage, path] of stages) if (stage) stage.options = registry.validate(kind, stage.plugin, stage.options, { ...source, path: [...path, 'options'] });
  }
  return config;
}

const PIPELINE_FORMAT = 'quarry-pipeline';
const PIPELINE_VERSION = 1;

export interface PipelineLoadHooks {
  /**
   * Called once the index's manifest and checksums are verified, before any stage is
   * created; e.g. to register the third-party plugins its config names.
   */
  beforeStages?(config: PipelineConfig): Promise<void> | void;
}

/** A composed pipeline; itself a `Retriever`, so pipelines nest. */
export class Pipeline implements Retriever {
  readonly name: string;

  constructor(
    readonly config: PipelineConfig,
    readonly docs: DocStore,
    readonly retrievers: readonly Retriever[],
    readonly rewriter?: QueryRewriter,
    readonly reranker?: Reranker,
  ) {
    this.name = config.name;
  }

  /** Builds every stage from its plugin; options are validated by each plugin's schema first. */
  static async build(config: PipelineConfigInput | PipelineConfig, registry: PluginRegistry, context: PluginContext): Promise<Pipeline> {
    const cfg = parsePipelineConfig(config, registry);
    const retrievers: Retriever[] = [];
    for (const stage of cfg.retrievers) {
      throwIfAborted(context.signal, 'pipeline build');
      retrievers.push(await registry.get('retriever', stage.plugin).create(stage.options, context));
    }
    const rewriter = cfg.rewriter ? await registry.get('rewriter', cfg.rewriter.plugin).create(cfg.rewriter.options, context) : undefined;
    const reranker = cfg.reranker ? await registry.get('reranker', cfg.reranker.plugin).create(cfg.reranker.options, context) : undefined;
    return new Pipeline(cfg, context.docs, retrievers, rewriter, reranker);
  }

  /** Restores a pipeline written by `save`; stages whose plugin has no `load` are rebuilt from the saved docs. */
  static async load(dir: string, registry: PluginRegistry, context: Omit<PluginContext, 'docs'> = {}, hooks: PipelineLoadHooks = {}): Promise<Pipeline> {
    const manifest = await openIndexDir(dir, PIPELINE_FORMAT, [PIPELINE_VERSION], { required: ['docs.jsonl.gz'] });
    await hooks.beforeStages?.(parsePipelineConfig(manifest.meta['config']));
    const cfg = parsePipelineConfig(manifest.meta['config'], registry);
    const docs = new MemoryDocStore(parseDocs(gunzipSync(await readFile(join(dir, 'docs.jsonl.gz'))).toString('utf8')));
    const ctx: PluginContext = { ...context, docs };
    const restore = async (kind: PluginKind, stage: { plugin: string; options: Record<string, unknown> }, sub: string) => {
      throwIfAborted(context.signal, 'pipeline load');
      const plugin = registry.get(kind, stage.plugin);
      const stageDir = safeJoin(dir, sub);
      return (manifest.meta['saved'] as string[]).includes(sub) && plugin.load ? plugin.load(stageDir, stage.options, ctx) : plugin.create(stage.options, ctx);
    };
    const retrievers: Retriever[] = [];
    for (const [i, stage] of cfg.retrievers.entries()) retrievers.push((await restore('retriever', stage, `retriever-${i}`)) as Retriever);
    const rewriter = cfg.rewriter ? ((await restore('rewriter', cfg.rewriter, 'rewriter')) as QueryRewriter) : undefined;
    const reranker = cfg.reranker ? ((await restore('reranker', cfg.reranker, 'reranker')) as Reranker) : undefined;
    return new Pipeline(cfg, docs, retrievers, rewriter, reranker);
  }

  /**
   * Saves the config, the docs and every stage that can persist itself, atomically.
   * `dir` must be missing, empty or a saved index (see `assertWritableIndexDir`) unless `overwrite`.
   */
  async save(dir: string, options: SaveIndexOptions = {}): Promise<void> {
    const saved: string[] = [];
    await saveIndexDir(
      dir,
      { format: PIPELINE_FORMAT, version: PIPELINE_VERSION, meta: { config: this.config, saved } },
      async (tmp) => {
        const lines: string[] = [];
        for (const doc of this.docs) lines.push(JSON.stringify(doc));
        await writeFile(join(tmp, 'docs.jsonl.gz'), gzipSync(lines.join('\n')));
        const stages: [string, unknown][] = [...this.retrievers.map((r, i) => [`retriever-${i}`, r] as [string, unknown]), ['rewriter', this.rewriter], ['reranker', this.reranker]];
        for (const [sub, stage] of stages) {
          if (isPersistable(stage)) {
            await stage.save(join(tmp, sub));
            saved.push(sub);
          }
        }
      },
      options,
    );
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    const k = options.k ?? 10;
    const { signal, filter } = options;
    // Candidates the fused first stage must deliver: the top k, or more for the reranker.
    const depth = Math.max(k, this.config.reranker?.depth ?? 0);
    let asked = queries.map((q, i) => (typeof q === 'string' ? { id: String(i), text: q } : q));
    const explains: (Record<string, unknown> | undefined)[] = asked.map(() => undefined);

    if (this.rewriter) {
      const firstStage = new FusedRetriever(this.retrievers, this.config);
      const rewritten: Query[] = [];
      for (const [i, q] of asked.entries()) {
        throwIfAborted(signal, 'search');
        const result = await this.rewriter.rewrite(q, { retriever: firstStage, docs: this.docs, signal });
        rewritten.push(result.query);
        explains[i] = result.explain;
      }
      asked = rewritten;
    }

    const fused = await new FusedRetriever(this.retrievers, this.config).searchBatch(asked, { k: depth, signal, filter });
    const out: Hit[][] = [];
    for (const [i, hits] of fused.entries()) {
      throwIfAborted(signal, 'search');
      let ranked = hits;
      if (this.reranker) {
        const rerankDepth = this.config.reranker!.depth;
        const reranked = await this.reranker.rerank(asked[i]!, hits.slice(0, rerankDepth), { docs: this.docs, signal });
        ranked = [...reranked, ...hits.slice(rerankDepth)];
      }
      const top = ranked.slice(0, k);
      const explain = explains[i];
      out.push(explain ? top.map((h) => ({ ...h, explain: { ...h.explain, ...explain } })) : top);
    }
    return out;
  }
}

/** The retrievers of a pipeline fused into one (a single retriever passes through). */
class FusedRetriever implements Retriever {
  readonly name = 'fused';

  constructor(
    private readonly retrievers: readonly Retriever[],
    private readonly config: PipelineConfig,
  ) {}

  async search(query: Query | string, options?: SearchOptions): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    const k = options.k ?? 10;
    if (this.retrievers.length === 1) return this.retrievers[0]!.searchBatch(queries, options);
    // Each retriever contributes exactly `depth` candidates, whatever k the caller asks for,
    // so a fused ranking means the same thing in `search --k 10` and `eval --k 1000`.
    const perRetriever = await Promise.all(this.retrievers.map((r) => r.searchBatch(queries, { ...options, k: this.config.depth })));
    const fusion = this.config.fusion ?? { method: 'rrf' as const, k: 60 };
    return queries.map((_, qi) => {
      const rankings = perRetriever.map((lists) => lists[qi]!);
      if (fusion.method === 'adaptive') {
        // The per-query weights (and the signals behind them) go into every hit's explain.
        const { hits, trace } = adaptiveRankFusion(rankings, { ...fusion, limit: k });
        return hits.map((h) => ({ ...h, explain: { fusion: trace } }));
      }
      return fusion.method === 'rrf'
        ? reciprocalRankFusion(rankings, { k: fusion.k, weights: fusion.weights, limit: k })
        : weightedScoreFusion(rankings, { weights: fusion.weights, normalization: fusion.normalization, limit: k });
    });
  }
}

function isPersistable(value: unknown): value is Persistable {
  return typeof value === 'object' && value !== null && typeof (value as Persistable).save === 'function';
}

function parseDocs(text: string): Doc[] {
  if (text === '') return [];
  return text.split('\n').map((line) => {
    try {
      return JSON.parse(line) as Doc;
    } catch {
      throw new QuarryError('INDEX_CORRUPT', 'docs.jsonl.gz holds an unreadable line; rebuild the index.');
    }
  });
}
