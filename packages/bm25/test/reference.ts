// Independent reference implementations for the tests: plain double-precision BM25 as the
// formulas read, and Lucene's SmallFloat transcribed from the Java source on BigInt.
import { SeededRandom } from '@quarry/core';

export function refLongToInt4(i: bigint): number {
  const numBits = i === 0n ? 0 : i.toString(2).length;
  if (numBits < 4) return Number(i);
  const shift = numBits - 4;
  return (Number(i >> BigInt(shift)) & 0x07) | ((shift + 1) << 3);
}

export function refInt4ToLong(i: number): bigint {
  const bits = BigInt(i & 0x07);
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08n) << BigInt(shift);
}

export const REF_NUM_FREE_VALUES = 255 - refLongToInt4(2147483647n);
export const refIntToByte4 = (i: number): number => (i < REF_NUM_FREE_VALUES ? i : REF_NUM_FREE_VALUES + refLongToInt4(BigInt(i - REF_NUM_FREE_VALUES)));
export const refByte4ToInt = (b: number): number => (b < REF_NUM_FREE_VALUES ? b : Number(BigInt(REF_NUM_FREE_VALUES) + refInt4ToLong(b - REF_NUM_FREE_VALUES)));

export interface RefDoc {
  id: string;
  tokens: string[];
}

/**
 * BM25 as Lucene 8+ defines it, in doubles: for each distinct query term t (counted
 * `c` times in the query), c * idf(t) * tf / (tf + k1 * (1 - b + b * dl / avgdl)),
 * idf = ln(1 + (N - df + 0.5) / (df + 0.5)), N = docs with at least one token.
 * Returns doc id -> score for every doc matching at least one query term.
 */
export function referenceBm25(docs: readonly RefDoc[], query: readonly string[], opts: { k1: number; b: number; lossy: boolean }): Map<string, number> {
  const withTokens = docs.filter((d) => d.tokens.length > 0);
  const N = withTokens.length;
  const avgdl = withTokens.reduce((s, d) => s + d.tokens.length, 0) / N;
  const counts = new Map<string, number>();
  for (const t of query) counts.set(t, (counts.get(t) ?? 0) + 1);
  const scores = new Map<string, number>();
  for (const [term, c] of counts) {
    const df = docs.filter((d) => d.tokens.includes(term)).length;
    if (df === 0) continue;
    const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
    for (const d of docs) {
      const tf = d.tokens.filter((x) => x === term).length;
      if (tf === 0) continue;
      const dl = opts.lossy ? refByte4ToInt(refIntToByte4(d.tokens.length)) : d.tokens.length;
      const s = (c * idf * tf) / (tf + opts.k1 * (1 - opts.b + (opts.b * dl) / avgdl));
      scores.set(d.id, (scores.get(d.id) ?? 0) + s);
    }
  }
  return scores;
}

/** A seeded uniform generator (core's SeededRandom, mulberry32), so every test sees the same data. */
export function rng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}
