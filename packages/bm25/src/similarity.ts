import { LENGTH_TABLE } from './lucene-norms.js';

/**
 * Lucene 9's BM25Similarity, operation for operation in float32 (Java `float`),
 * so that scores (and therefore ties and rank order) match Lucene/Anserini:
 *
 *   idf    = ln(1 + (N - df + 0.5) / (df + 0.5))                 (double, then float)
 *   avgdl  = sumTotalTermFreq / N                                 (double, then float)
 *   norm⁻¹ = 1 / (k1 * ((1 - b) + b * dl / avgdl))                (float)
 *   score  = w - w / (1 + tf * norm⁻¹),  w = boost * idf           (float)
 *
 * The last line equals w * tf / (tf + k1 * (1 - b + b * dl / avgdl)); Lucene 8+
 * dropped the constant (k1 + 1) factor, which does not change the ranking.
 */
const f32 = Math.fround;

export function luceneIdf(docFreq: number, docCount: number): number {
  return f32(Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5)));
}

export function luceneAvgdl(sumTotalTermFreq: number, docCount: number): number {
  return docCount > 0 ? f32(sumTotalTermFreq / docCount) : 0;
}

/** `1f / (k1 * ((1 - b) + b * dl / avgdl))` with Java's float rounding at every step. */
export function normInverse(k1: number, b: number, dl: number, avgdl: number): number {
  const k = f32(k1);
  const bb = f32(b);
  return f32(1 / f32(k * f32(f32(1 - bb) + f32(f32(bb * f32(dl)) / avgdl))));
}

/** `BM25Similarity`'s per-norm-byte cache: norm⁻¹ for each of the 256 lossy lengths. */
export function normInverseCache(k1: number, b: number, avgdl: number): Float32Array {
  const cache = new Float32Array(256);
  for (let i = 0; i < 256; i++) cache[i] = normInverse(k1, b, LENGTH_TABLE[i]!, avgdl);
  return cache;
}

/** One term's contribution to one document, `BM25Scorer.score(freq, norm)`. */
export function termScore(weight: number, freq: number, normInv: number): number {
  return f32(weight - f32(weight / f32(1 + f32(freq * normInv))));
}
