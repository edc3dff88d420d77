import { InputError } from './errors.js';
import type { Hit } from './types.js';

/** Relevance judgements: query id -> doc id -> graded relevance. */
export type Qrels = Map<string, Map<string, number>>;
/** A ranked run: query id -> hits (any order; evaluation re-sorts as trec_eval does). */
export type Run = Map<string, readonly Hit[]>;

/**
 * Metric names follow the `name@k` form; `map` and `rprec` take no cut-off.
 * Semantics match trec_eval 9 (`-c`, relevance level 1):
 * - ndcg@k: trec_eval `ndcg_cut.k` (gain = judged grade, discount log2(rank + 1)).
 * - recall@k, p@k: `recall.k`, `P.k` (P divides by k even when fewer docs are ranked).
 * - mrr@k: `recip_rank` over the top k only (what Anserini reports as MRR@10).
 * - map: `map` (no cut-off); rprec: `Rprec`.
 */
export type MetricName = `ndcg@${number}` | `recall@${number}` | `p@${number}` | `mrr@${number}` | 'map' | 'rprec';

export interface EvaluationResult {
  /** Mean of each metric over the evaluated queries. */
  metrics: Record<string, number>;
  /** Per-query values, keyed by metric then query id. */
  perQuery: Record<string, Record<string, number>>;
  /** Number of queries averaged over (every qrels query, as trec_eval -c). */
  queries: number;
}

interface ParsedMetric {
  name: string;
  kind: 'ndcg' | 'recall' | 'p' | 'mrr' | 'map' | 'rprec';
  k: number;
}

export function parseMetric(name: string): ParsedMetric {
  const lower = name.toLowerCase();
  if (lower === 'map' || lower === 'rprec') return { name: lower, kind: lower, k: Infinity };
  const m = /^(ndcg|recall|p|mrr)@(\d+)$/.exec(lower);
  if (!m || Number(m[2]) < 1) {
    throw new InputError(`Unknown metric "${name}". Use ndcg@k, recall@k, p@k, mrr@k (k >= 1), map or rprec.`);
  }
  return { name: lower, kind: m[1] as ParsedMetric['kind'], k: Number(m[2]) };
}

/**
 * Orders hits as trec_eval does before scoring: score descending, ties by doc id
 * descending (byte order). Duplicate doc ids are an error, as in trec_eval.
 */
export function trecEvalOrder(hits: readonly Hit[], queryId = '?'): Hit[] {
  const sorted = [...hits].sort((a, b) => b.score - a.score || compareBytes(b.id, a.id));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id) throw new InputError(`Run has doc "${sorted[i]!.id}" twice for query "${queryId}".`);
  }
  return sorted;
}

/** Evaluates one ranked list (already in trec_eval order) against one query's judgements. */
export function evaluateQuery(ranked: readonly Hit[], judged: ReadonlyMap<string, number> | undefined, metrics: readonly ParsedMetric[]): Record<string, number> {
  const rels = judged ?? new Map<string, number>();
  let numRel = 0;
  const grades: number[] = [];
  for (const g of rels.values()) {
    if (g >= 1) numRel++;
    if (g > 0) grades.push(g);
  }
  grades.sort((a, b) => b - a);
  const out: Record<string, number> = {};
  for (const m of metrics) out[m.name] = computeMetric(m, ranked, rels, numRel, grades);
  return out;
}

function computeMetric(m: ParsedMetric, ranked: readonly Hit[], rels: ReadonlyMap<string, number>, numRel: number, idealGrades: readonly number[]): number {
  const grade = (i: number): number => rels.get(ranked[i]!.id) ?? 0;
  const depth = Math.min(ranked.length, m.k);
  switch (m.kind) {
    case 'ndcg': {
      let dcg = 0;
      for (let i = 0; i < depth; i++) {
        const g = grade(i);
        if (g > 0) dcg += g / Math.log2(i + 2);
      }
      let ideal = 0;
      for (let i = 0; i < Math.min(m.k, idealGrades.length); i++) ideal += idealGrades[i]! / Math.log2(i + 2);
      return ideal > 0 ? dcg / ideal : 0;
    }
    case 'recall':
    case 'p': {
      let hits = 0;
      for (let i = 0; i < depth; i++) if (grade(i) >= 1) hits++;
      if (m.kind === 'p') return hits / m.k;
      return numRel > 0 ? hits / numRel : 0;
    }
    case 'mrr': {
      for (let i = 0; i < depth; i++) if (grade(i) >= 1) return 1 / (i + 1);
      return 0;
    }
    case 'map': {
      if (numRel === 0) return 0;
      let hits = 0;
      let sum = 0;
      for (let i = 0; i < ranked.length; i++) {
        if (grade(i) >= 1) {
          hits++;
          sum += hits / (i + 1);
        }
      }
      return sum / numRel;
    }
    case 'rprec': {
      if (numRel === 0) return 0;
      let hits = 0;
      for (let i = 0; i < Math.min(numRel, ranked.length); i++) if (grade(i) >= 1) hits++;
      return hits / numRel;
    }
  }
}

/**
 * Evaluates a run against qrels the way `trec_eval -c` does: every query in the qrels
 * counts (a query missing from the run scores 0); run queries without qrels are ignored.
 */
export function evaluate(run: Run, qrels: Qrels, metricNames: readonly string[]): EvaluationResult {
  const metrics = metricNames.map(parseMetric);
  const perQuery: Record<string, Record<string, number>> = {};
  const sums: Record<string, number> = {};
  for (const m of metrics) {
    perQuery[m.name] = {};
    sums[m.name] = 0;
  }
  const qids = [...qrels.keys()].sort(compareBytes);
  for (const qid of qids) {
    const ranked = trecEvalOrder(run.get(qid) ?? [], qid);
    const values = evaluateQuery(ranked, qrels.get(qid), metrics);
    for (const m of metrics) {
      perQuery[m.name]![qid] = values[m.name]!;
      sums[m.name]! += values[m.name]!;
    }
  }
  const out: Record<string, number> = {};
  for (const m of metrics) out[m.name] = qids.length ? sums[m.name]! / qids.length : 0;
  return { metrics: out, perQuery, queries: qids.length };
}

/** strcmp order on UTF-8 bytes (equal to UTF-16 order for the BMP, which ids use). */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
