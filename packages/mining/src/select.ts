import type { Hit, SeededRandom } from '@quarry/core';
import type { MiningOptions } from './options.js';

/**
 * Picks the negatives from the kept candidates: the top n, or a sample from the top
 * `sampleFrom` (uniform or softmax over teacher scores, without replacement), or the
 * best one plus a sample of the rest ("top-1 + sampled"). Returns them in teacher order.
 */
export function selectNegatives(kept: readonly Hit[], n: number, o: MiningOptions, rng: SeededRandom): Hit[] {
  if (o.selection === 'top' || kept.length <= n) return kept.slice(0, n);
  const pool = kept.slice(0, o.sampleFrom);
  if (o.selection === 'top1-sample') return [pool[0]!, ...sampleWithoutReplacement(pool.slice(1), n - 1, o, rng)];
  return sampleWithoutReplacement(pool, n, o, rng);
}

function sampleWithoutReplacement(pool: readonly Hit[], n: number, o: MiningOptions, rng: SeededRandom): Hit[] {
  const take = Math.min(n, pool.length);
  const weights = pool.map((h) => h.score / o.temperature);
  const max = Math.max(...weights);
  const w = o.sampling === 'softmax' ? weights.map((x) => Math.exp(x - max)) : weights.map(() => 1);
  const chosen = new Set<number>();
  while (chosen.size < take) {
    let total = 0;
    for (let i = 0; i < pool.length; i++) if (!chosen.has(i)) total += w[i]!;
    let u = rng.next() * total;
    let pick = -1;
    for (let i = 0; i < pool.length; i++) {
      if (chosen.has(i)) continue;
      pick = i;
      u -= w[i]!;
      if (u < 0) break;
    }
    chosen.add(pick);
  }
  return [...chosen].sort((a, b) => a - b).map((i) => pool[i]!);
}
