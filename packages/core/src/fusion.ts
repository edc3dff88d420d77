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
