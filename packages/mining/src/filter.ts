import type { Hit } from '@quarry/core';
import type { FilterName, MiningOptions } from './options.js';

export interface FilterOutcome {
  /** Candidates that passed every filter, in teacher rank order. */
  kept: Hit[];
  /** Candidates each filter removed (a candidate is charged to the first filter that removes it). */
  removed: Record<FilterName, Hit[]>;
}

/**
 * Walks the teacher's ranked list as the paper does: positives are excluded, the rank
 * window applied, then the method's cap, then absolute score bounds. `positiveScore`
 * is the cap reference: the *minimum* teacher score over the query's positives, so no
 * negative may outscore the weakest positive (the conservative choice with several positives).
 * `scale` maps teacher scores onto the scale the method compares on (see `scoreScale`);
 * only the method's comparison uses it, score bounds stay on the teacher's scale.
 */
export function filterCandidates(ranked: readonly Hit[], positives: ReadonlySet<string>, positiveScore: number, o: MiningOptions, scale: (score: number) => number = (s) => s): FilterOutcome {
  const cap = scale(positiveScore);
  const removed: Record<FilterName, Hit[]> = { positive: [], range: [], method: [], 'score-bounds': [] };
  const kept: Hit[] = [];
  const start = o.rangeMin + (o.method === 'shifted' ? o.shift : 0);
  const end = o.rangeMax ?? Infinity;
  let rank = 0; // rank among non-positive candidates
  for (const hit of ranked) {
    if (positives.has(hit.id)) {
      removed.positive.push(hit);
      continue;
    }
    const r = rank++;
    if (r < start || r >= end) {
      removed.range.push(hit);
      continue;
    }
    if (!passesMethod(scale(hit.score), cap, o)) {
      removed.method.push(hit);
      continue;
    }
    if ((o.minScore !== undefined && hit.score < o.minScore) || (o.maxScore !== undefined && hit.score > o.maxScore)) {
      removed['score-bounds'].push(hit);
      continue;
    }
    kept.push(hit);
  }
  return { kept, removed };
}

function passesMethod(score: number, pos: number, o: MiningOptions): boolean {
  switch (o.method) {
    case 'naive':
    case 'shifted':
      return true;
    case 'abs':
      return score <= o.absThreshold;
    case 'margin-pos':
      return score < pos - o.margin;
    case 'perc-pos':
      // With a negative positive score, `pos * perc` would loosen the cap; keep the intent (strictly below).
      return pos >= 0 ? score < pos * o.perc : score < pos / o.perc;
  }
}

/**
 * The score map of `options.normalize` for one query and teacher: identity for `none`;
 * for `minmax-per-query`, (s - min) / (max - min) over the query's candidate scores and
 * its positives' scores (finite ones), so 0 is the lowest and 1 the highest score seen.
 */
export function scoreScale(normalize: MiningOptions['normalize'], ranked: readonly Hit[], positiveScores: readonly number[]): (score: number) => number {
  if (normalize === 'none') return (s) => s;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of [...ranked.map((h) => h.score), ...positiveScores]) {
    if (!Number.isFinite(s)) continue;
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  const width = hi - lo;
  return width > 0 ? (s) => (s - lo) / width : () => 0;
}
