import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError, SeededRandom, checkOptions, loadSplit, openBeirDataset, readCorpus, throwIfAborted, type Doc, type ProgressCallback, type Qrels, type Query } from '@quarry/core';
import { buildBenchmarkOptionsSchema } from './options.js';
import { Bm25Index } from '@quarry/bm25';
import { BENCHMARK_TEMPLATES, compose, type BoolOperator, type Segment, type Template } from './compose.js';

/** What the benchmark stores about each query (the `metadata` of its queries.jsonl line). */
export interface BoolQueryMeta {
  /** `none` for the plain source queries (the no-harm check). */
  op: BoolOperator | 'none';
  split: string;
  template?: string;
  /** Source query ids [A, B] in SciFact. */
  sources: string[];
  segments?: Segment[];
  /** For NOT: rank (1-based) of the best distractor (a rel(B) \ rel(A) document) in BM25's ranking for A alone. */
  distractorRank?: number;
}

export interface BoolQuery extends Query {
  meta: BoolQueryMeta;
}

export interface BuildBenchmarkOptions {
  /** Source BEIR dataset (SciFact). Its `train` split feeds the benchmark's train split, `test` the test split. */
  dataset: string;
  /** Output folder (BEIR layout). */
  out: string;
  /** BM25 depth within which a partner's relevant document must rank for the first query (topic overlap). Default 20. */
  depth?: number;
  seed?: number;
  /** Link the corpus (relative symlink, default) or copy it. */
  corpus?: 'link' | 'copy';
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface BenchmarkStats {
  source: string;
  depth: number;
  seed: number;
  splits: Record<string, { queries: number; relevant: number; meanRelevant: number; meanWords: number; templates: Record<string, number>; medianDistractorRank?: number }>;
}

const SPLITS: readonly ['train', 'test'] = ['train', 'test'];

function relOf(qrels: Qrels, id: string): Set<string> {
  return new Set([...(qrels.get(id) ?? new Map<string, number>())].filter(([, g]) => g > 0).map(([d]) => d));
}

/**
 * Builds the Boolean benchmark from real relevance labels (see the README for the
 * construction). Deterministic for a given source dataset, depth and seed.
 */
export async function buildBooleanBenchmark(options: BuildBenchmarkOptions): Promise<{ queries: BoolQuery[]; qrels: Map<string, Qrels>; stats: BenchmarkStats }> {
  checkOptions(buildBenchmarkOptionsSchema, options, 'buildBooleanBenchmark options');
  const depth = options.depth ?? 20;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(depth) || depth < 1) throw new InputError(`depth must be a positive integer, got ${depth}.`);
  const source = openBeirDataset(options.dataset);
  const docs: Doc[] = [];
  for await (const d of readCorpus(source.corpusFile)) docs.push(d);
  const index = await Bm25Index.build(docs);
  const all: BoolQuery[] = [];
  const qrelsBySplit = new Map<string, Qrels>();
  const addQrels = (split: string, id: string, rel: Set<string>): void => {
    let q = qrelsBySplit.get(split);
    if (!q) qrelsBySplit.set(split, (q = new Map()));
    q.set(id, new Map([...rel].sort().map((d) => [d, 1])));
  };

  for (const split of SPLITS) {
    throwIfAborted(options.signal, 'benchmark build');
    const { queries, qrels } = await loadSplit(source, split);
    const text = new Map(queries.map((q) => [q.id, q.text]));
    const rel = new Map(queries.map((q) => [q.id, relOf(qrels, q.id)]));
    // Which source queries each document is relevant to.
    const byDoc = new Map<string, string[]>();
    for (const q of queries) for (const d of rel.get(q.id)!) byDoc.set(d, [...(byDoc.get(d) ?? []), q.id]);
    const rng = new SeededRandom(seed + (split === 'test' ? 1 : 0));

    // Topic overlap: partners B whose relevant documents (outside rel(A)) BM25 ranks high for A alone.
    const hits = await index.searchBatch(queries, { k: depth });
    const candidates = new Map<string, { b: string; rank: number }[]>();
    queries.forEach((q, qi) => {
      const relA = rel.get(q.id)!;
      const best = new Map<string, number>();
      hits[qi]!.forEach((h, r) => {
        if (relA.has(h.id)) return;
        for (const b of byDoc.get(h.id) ?? []) if (b !== q.id && !best.has(b)) best.set(b, r + 1);
      });
      const list = [...best]
        .filter(([b]) => [...relA].some((d) => !rel.get(b)!.has(d)))
        .map(([b, rank]) => ({ b, rank }))
        .sort((x, y) => x.rank - y.rank || (x.b < y.b ? -1 : 1));
      candidates.set(q.id, list);
      options.onProgress?.({ phase: `pairs (${split})`, done: qi + 1, total: queries.length });
    });

    const pairs: Record<BoolOperator, { a: string; b: string; rel: Set<string>; distractorRank?: number }[]> = { and: [], or: [], not: [] };
    const orSeen = new Set<string>();
    for (const q of queries) {
      const list = candidates.get(q.id)!;
      const relA = rel.get(q.id)!;
      const first = list[0];
      if (first) pairs.not.push({ a: q.id, b: first.b, rel: new Set([...relA].filter((d) => !rel.get(first.b)!.has(d))), distractorRank: first.rank });
      const orPartner = list.slice(1).find((c) => !orSeen.has([q.id, c.b].sort().join('|'))) ?? (first && !orSeen.has([q.id, first.b].sort().join('|')) ? first : undefined);
      if (orPartner) {
        orSeen.add([q.id, orPartner.b].sort().join('|'));
        pairs.or.push({ a: q.id, b: orPartner.b, rel: new Set([...relA, ...rel.get(orPartner.b)!]) });
      }
    }
    // AND: pairs whose label sets overlap; relevance is the intersection.
    const andSeen = new Set<string>();
    for (const [, ids] of [...byDoc].sort(([x], [y]) => (x < y ? -1 : 1))) {
      for (let i = 0; i < ids.length; i++) {
        for (let j = i + 1; j < ids.length; j++) {
          const key = [ids[i]!, ids[j]!].sort().join('|');
          if (andSeen.has(key)) continue;
          andSeen.add(key);
          const [a, b] = rng.next() < 0.5 ? [ids[i]!, ids[j]!] : [ids[j]!, ids[i]!];
          pairs.and.push({ a, b, rel: new Set([...rel.get(a)!].filter((d) => rel.get(b)!.has(d))) });
        }
      }
    }

    for (const op of ['and', 'or', 'not'] as const) {
      const templates = BENCHMARK_TEMPLATES.filter((t) => t.op === op);
      const list = rng.shuffle([...pairs[op]]);
      list.forEach((p, i) => {
        const template: Template = templates[i % templates.length]!;
        const { text: qtext, segments } = compose(template, text.get(p.a)!, text.get(p.b)!);
        const id = `${op}-${p.a}-${p.b}`;
        const meta: BoolQueryMeta = { op, split, template: template.id, sources: [p.a, p.b], segments };
        if (p.distractorRank !== undefined) meta.distractorRank = p.distractorRank;
        all.push({ id, text: qtext, meta });
        addQrels(split, id, p.rel);
        addQrels(`${split}-${op}`, id, p.rel);
      });
    }
    for (const q of queries) {
      const id = `q-${q.id}`;
      all.push({ id, text: q.text, meta: { op: 'none', split, sources: [q.id] } });
      addQrels(`${split}-plain`, id, rel.get(q.id)!);
    }
  }

  const stats: BenchmarkStats = { source: 'BEIR SciFact (train -> train, test -> test)', depth, seed, splits: {} };
  const metaById = new Map(all.map((q) => [q.id, q]));
  for (const [split, qrels] of [...qrelsBySplit].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const qs = [...qrels.keys()].map((id) => metaById.get(id)!);
    const relevant = [...qrels.values()].reduce((s, m) => s + m.size, 0);
    const templates: Record<string, number> = {};
    for (const q of qs) if (q.meta.template) templates[q.meta.template] = (templates[q.meta.template] ?? 0) + 1;
    const ranks = qs
      .map((q) => q.meta.distractorRank)
      .filter((r): r is number => r !== undefined)
      .sort((a, b) => a - b);
    stats.splits[split] = {
      queries: qs.length,
      relevant,
      meanRelevant: round(relevant / Math.max(1, qs.length)),
      meanWords: round(qs.reduce((s, q) => s + q.text.split(/\s+/u).length, 0) / Math.max(1, qs.length)),
      templates,
      ...(ranks.length ? { medianDistractorRank: ranks[Math.floor(ranks.length / 2)]! } : {}),
    };
  }
  await writeBenchmark(options, all, qrelsBySplit, stats, source.corpusFile);
  return { queries: all, qrels: qrelsBySplit, stats };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function writeBenchmark(options: BuildBenchmarkOptions, queries: BoolQuery[], qrels: Map<string, Qrels>, stats: BenchmarkStats, corpusFile: string): Promise<void> {
  const out = resolve(options.out);
  await mkdir(join(out, 'qrels'), { recursive: true });
  const lines = queries.map((q) => JSON.stringify({ _id: q.id, text: q.text, metadata: q.meta }));
  await writeFile(join(out, 'queries.jsonl.gz'), gzipSync(`${lines.join('\n')}\n`, { level: 9 }));
  for (const [split, q] of qrels) {
    const rows = ['query-id\tcorpus-id\tscore'];
    for (const [qid, m] of q) for (const [d, g] of m) rows.push(`${qid}\t${d}\t${g}`);
    await writeFile(join(out, 'qrels', `${split}.tsv.gz`), gzipSync(`${rows.join('\n')}\n`, { level: 9 }));
  }
  await writeFile(join(out, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
  const target = join(out, corpusFile.endsWith('.gz') ? 'corpus.jsonl.gz' : 'corpus.jsonl');
  if (existsSync(target)) await rm(target);
  if ((options.corpus ?? 'link') === 'link') await symlink(relative(out, resolve(corpusFile)), target);
  else await copyFile(corpusFile, target);
}

/** Reads the benchmark's queries with their metadata (queries.jsonl[.gz] of a built benchmark). */
export async function readBoolQueries(dir: string): Promise<BoolQuery[]> {
  const file = existsSync(join(dir, 'queries.jsonl.gz')) ? join(dir, 'queries.jsonl.gz') : join(dir, 'queries.jsonl');
  const raw = await readFile(file);
  const textOf = file.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  return textOf
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const o = JSON.parse(l) as { _id: string; text: string; metadata: BoolQueryMeta };
      return { id: o._id, text: o.text, meta: o.metadata };
    });
}
