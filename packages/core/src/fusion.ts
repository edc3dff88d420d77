import { InputError } from './errors.js';
import type { Hit } from './types.js';

/**
 * Reciprocal rank fusion (Cormack et al., 2009): score(d) = Σ_r w_r / (k + rank_r(d)),
 * ranks starting at 1. Ties are broken by id so the output is deterministic.
 */
export function reciprocalRankFusion(rankings: readonly (readonly Hit[])[], options: { k?: number; weights?: readonly number[]; limit?: number } = {}): Hit[] {
  const k = options.k ?? 60;
  if (!(k >= 0)) throw new InputError(`RRF constant k must be >= 0, got ${k}.`);
  const weights = checkWeights(options.weights, rankings.length);
  const scores = new Map<string, number>();
  rankings.forEach((hits, r) => {
    hits.forEach((hit, rank) => {
      scores.set(hit.id, (scores.get(hit.id) ?? 0) + weights[r]! / (k + rank + 1));
    });
  });
  return sortedHits(scores, options.limit);
}

export type ScoreNormalization = 'none' | 'minmax' | 'zscore';

/**
 * Weighted score fusion: each ranking's scores are normalised (min-max by default,
 * since BM25 and cosine live on different scales), then summed with weights.
 * A document missing from a ranking contributes that ranking's minimum normalised score.
 */
export function weightedScoreFusion(rankings: readonly (readonly Hit[])[], options: { weights?: readonly number[]; normalization?: ScoreNormalization; limit?: number } = {}): Hit[] {
  const weights = checkWeights(options.weights, rankings.length);
  const normalization = options.normalization ?? 'minmax';
  const normalized = rankings.map((hits) => normalizeScores(hits, normalization));
  const all = new Set<string>();
  for (const hits of rankings) for (const h of hits) all.add(h.id);
  const scores = new Map<string, number>();
  for (const id of all) scores.set(id, 0);
  normalized.forEach(({ byId, floor }, r) => {
    for (const id of all) scores.set(id, scores.get(id)! + weights[r]! * (byId.get(id) ?? floor));
  });
  return sortedHits(scores, options.limit);
}

function normalizeScores(hits: readonly Hit[], method: ScoreNormalization): { byId: Map<string, number>; floor: number } {
  const byId = new Map<string, number>();
  if (hits.length === 0) return { byId, floor: 0 };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const h of hits) {
    min = Math.min(min, h.score);
    max = Math.max(max, h.score);
    sum += h.score;
  }
  const mean = sum / hits.length;
  let variance = 0;
  for (const h of hits) variance += (h.score - mean) ** 2;
  const std = Math.sqrt(variance / hits.length);
  const f = (s: number): number => {
    if (method === 'minmax') return max > min ? (s - min) / (max - min) : 1;
    if (method === 'zscore') return std > 0 ? (s - mean) / std : 0;
    return s;
  };
  for (const h of hits) byId.set(h.id, f(h.score));
  return { byId, floor: f(min) };
}

function checkWeights(weights: readonly number[] | undefined, n: number): readonly number[] {
  if (!weights) return Array.from({ length: n }, () => 1);
  if (weights.length !== n) throw new InputError(`Fusion got ${weights.length} weights for ${n} rankings; give one weight per ranking.`);
  if (weights.some((w) => !Number.isFinite(w))) throw new InputError('Fusion weights must be finite numbers.');
  return weights;
}

function sortedHits(scores: Map<string, number>, limit?: number): Hit[] {
  const hits = [...scores].map(([id, score]) => ({ id, score }));
  hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return limit === undefined ? hits : hits.slice(0, limit);
}

/**
 * Per-query signals that say how far one ranking (the "other", e.g. dense) agrees with an
 * anchor ranking (e.g. BM25) and how confident each looks, computed from the two lists alone
 * (no relevance labels). Scale-free except `*Top1` (the raw best score of that retriever).
 */
export const FUSION_FEATURES = [
  'anchorTop1',
  'anchorZ1',
  'anchorMargin',
  'otherTop1',
  'otherZ1',
  'otherMargin',
  'overlap10',
  'anchorTopInOther',
  'otherTopInAnchor',
  'anchorTop10InOther',
  'otherTop10InAnchor',
] as const;

export type FusionFeature = (typeof FUSION_FEATURES)[number];
export type FusionFeatures = Record<FusionFeature, number>;

/**
 * The signals of `FUSION_FEATURES` for one query:
 * - `*Top1`: the list's best score; `*Z1`: its z-score within the list, (s1 - mean) / std;
 *   `*Margin`: (s1 - s2) / std (0 for a list of one or a flat list);
 * - `overlap10`: |top 10 of anchor ∩ top 10 of other| / 10;
 * - `anchorTopInOther`: 1 / rank of the anchor's first hit in the other list (0 when absent), and the converse;
 * - `anchorTop10InOther`: the share of the anchor's top 10 found anywhere in the other list, and the converse.
 * An empty list gives 0 for every signal that needs it.
 */
export function fusionFeatures(anchor: readonly Hit[], other: readonly Hit[]): FusionFeatures {
  const a = scoreStats(anchor);
  const o = scoreStats(other);
  const ids = (hits: readonly Hit[], n: number) => new Set(hits.slice(0, n).map((h) => h.id));
  const share = (from: readonly Hit[], inList: readonly Hit[], n: number): number => {
    const top = from.slice(0, n);
    if (top.length === 0) return 0;
    const set = ids(inList, inList.length);
    return top.filter((h) => set.has(h.id)).length / top.length;
  };
  const reciprocalRank = (id: string | undefined, list: readonly Hit[]): number => {
    if (id === undefined) return 0;
    const i = list.findIndex((h) => h.id === id);
    return i < 0 ? 0 : 1 / (i + 1);
  };
  const top10 = ids(anchor, 10);
  const overlap = other.slice(0, 10).filter((h) => top10.has(h.id)).length;
  return {
    anchorTop1: a.top1,
    anchorZ1: a.z1,
    anchorMargin: a.margin,
    otherTop1: o.top1,
    otherZ1: o.z1,
    otherMargin: o.margin,
    overlap10: overlap / 10,
    anchorTopInOther: reciprocalRank(anchor[0]?.id, other),
    otherTopInAnchor: reciprocalRank(other[0]?.id, anchor),
    anchorTop10InOther: share(anchor, other, 10),
    otherTop10InAnchor: share(other, anchor, 10),
  };
}

function scoreStats(hits: readonly Hit[]): { top1: number; z1: number; margin: number } {
  if (hits.length === 0) return { top1: 0, z1: 0, margin: 0 };
  let sum = 0;
  for (const h of hits) sum += h.score;
  const mean = sum / hits.length;
  let variance = 0;
  for (const h of hits) variance += (h.score - mean) ** 2;
  const std = Math.sqrt(variance / hits.length);
  const top1 = hits[0]!.score;
  if (!(std > 0)) return { top1, z1: 0, margin: 0 };
  return { top1, z1: (top1 - mean) / std, margin: hits.length > 1 ? (top1 - hits[1]!.score) / std : 0 };
}

/** A logistic model of how far to trust a ranking against the anchor: trust = σ(intercept + Σ coefficient · feature). */
export interface TrustModel {
  intercept: number;
  coefficients?: Partial<Record<FusionFeature, number>>;
}

export interface AdaptiveFusionOptions extends TrustModel {
  /** RRF constant (default 60). */
  k?: number;
  /** Index of the anchor ranking (default 0): the one the fusion falls back on when the others look unreliable. */
  anchor?: number;
  limit?: number;
}

/** What adaptive fusion decided for one query (attached to hits as `explain.fusion` by pipelines). */
export interface AdaptiveFusionTrace {
  method: 'adaptive';
  /** The RRF weight each ranking got, in ranking order; they sum to 1. */
  weights: number[];
  /** Per ranking, the trust the model gave it against the anchor (the anchor's own entry is null). */
  trust: (number | null)[];
  /** Per ranking, the features the trust was computed from (null for the anchor). */
  features: (FusionFeatures | null)[];
}

/**
 * Query-adaptive reciprocal rank fusion: for each non-anchor ranking i, a trust
 * t_i = σ(intercept + Σ_f c_f · feature_f(anchor, ranking i)) in (0, 1) is computed from signals
 * available at query time (agreement between the lists, score shape: see `fusionFeatures`),
 * and the rankings are fused by weighted RRF with weights t_i / (n - 1) for the others and
 * 1 - mean(t) for the anchor. With two rankings that is (1 - t, t): t = 0.5 is plain RRF, and
 * t -> 0 falls back on the anchor alone when the other side looks unsure.
 * The model is fitted per pair of retrievers (see tools/adaptive-fusion.mjs for bm25 + dense).
 */
export function adaptiveRankFusion(rankings: readonly (readonly Hit[])[], options: AdaptiveFusionOptions): { hits: Hit[]; trace: AdaptiveFusionTrace } {
  const anchor = options.anchor ?? 0;
  if (!Number.isInteger(anchor) || anchor < 0 || anchor >= rankings.length) throw new InputError(`Adaptive fusion anchor must index one of the ${rankings.length} rankings, got ${anchor}.`);
  if (!Number.isFinite(options.intercept)) throw new InputError('Adaptive fusion needs a finite intercept.');
  const coefficients = Object.entries(options.coefficients ?? {}) as [FusionFeature, number][];
  for (const [name, c] of coefficients) {
    if (!(FUSION_FEATURES as readonly string[]).includes(name)) throw new InputError(`Unknown adaptive fusion feature "${name}"; use one of ${FUSION_FEATURES.join(', ')}.`);
    if (!Number.isFinite(c)) throw new InputError(`Adaptive fusion coefficient for "${name}" must be a finite number.`);
  }
  const n = rankings.length;
  const trust: (number | null)[] = [];
  const features: (FusionFeatures | null)[] = [];
  for (let r = 0; r < n; r++) {
    if (r === anchor) {
      trust.push(null);
      features.push(null);
      continue;
    }
    const f = fusionFeatures(rankings[anchor]!, rankings[r]!);
    let z = options.intercept;
    for (const [name, c] of coefficients) z += c * f[name];
    trust.push(1 / (1 + Math.exp(-z)));
    features.push(f);
  }
  const others = trust.filter((t): t is number => t !== null);
  const meanTrust = others.length ? others.reduce((s, t) => s + t, 0) / others.length : 0;
  const weights = trust.map((t) => (t === null ? 1 - meanTrust : t / Math.max(1, n - 1)));
  const hits = reciprocalRankFusion(rankings, { k: options.k, weights, limit: options.limit });
  return { hits, trace: { method: 'adaptive', weights, trust, features } };
}
