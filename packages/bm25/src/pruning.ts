import type { TopK } from '@quarry/core';
import { numTermsOf, type Csr } from './csr.js';

/**
 * Postings per block of skip data, as in Lucene 9 and PISA. Each block records the last
 * doc ordinal it holds (to skip whole blocks while seeking) and, per scoring epoch, the
 * largest score any of its postings contributes (to skip blocks that cannot matter).
 */
export const BLOCK_SIZE = 128;
const BLOCK_SHIFT = 7;
/** Documents per window of the pruned search (a power of two). */
const WINDOW_SHIFT = 12;
export const WINDOW = 1 << WINDOW_SHIFT;

/** Skip data over a segment's CSR postings: blocks of `BLOCK_SIZE` postings per term. */
export interface BlockIndex {
  /** Term t owns blocks `termBlocks[t] .. termBlocks[t+1]-1` (length = terms + 1). */
  termBlocks: Int32Array;
  /** The last (largest) doc ordinal in each block. */
  lastDoc: Int32Array;
}

export function buildBlockIndex(csr: Csr): BlockIndex {
  const numTerms = numTermsOf(csr);
  const { offsets, docs } = csr;
  const termBlocks = new Int32Array(numTerms + 1);
  for (let t = 0; t < numTerms; t++) termBlocks[t + 1] = termBlocks[t]! + ((offsets[t + 1]! - offsets[t]! + BLOCK_SIZE - 1) >>> BLOCK_SHIFT);
  const lastDoc = new Int32Array(termBlocks[numTerms]!);
  for (let t = 0; t < numTerms; t++) {
    const lo = offsets[t]!;
    const hi = offsets[t + 1]!;
    for (let b = termBlocks[t]!, p = lo; p < hi; b++, p += BLOCK_SIZE) lastDoc[b] = docs[Math.min(p + BLOCK_SIZE, hi) - 1]!;
  }
  return { termBlocks, lastDoc };
}

/**
 * Fills `blockMax[b - blockBase]` for term t's blocks from its scores (`impacts[p - impactBase]`
 * for posting p); returns the term's largest and smallest score.
 */
export function fillBlockMax(csr: Csr, blocks: BlockIndex, t: number, impacts: Float32Array, impactBase: number, blockMax: Float32Array, blockBase: number): { max: number; min: number } {
  const lo = csr.offsets[t]!;
  const hi = csr.offsets[t + 1]!;
  let max = 0;
  let min = Number.POSITIVE_INFINITY;
  for (let b = blocks.termBlocks[t]!, p = lo; p < hi; b++) {
    const end = Math.min(p + BLOCK_SIZE, hi);
    let m = 0;
    for (; p < end; p++) {
      const v = impacts[p - impactBase]!;
      if (v > m) m = v;
      if (v < min) min = v;
    }
    blockMax[b - blockBase] = m;
    if (m > max) max = m;
  }
  return { max, min };
}

/** One query term as the pruned search sees it. Its score for posting p is `impacts[p - impactBase] * scale`. */
export interface QueryTerm {
  term: number;
  impacts: Float32Array;
  impactBase: number;
  /** Block b's largest impact is `blockMax[b - blockBase]`. */
  blockMax: Float32Array;
  blockBase: number;
  /** 1, or the query's power-of-two repetition of the term (exact in float: boost * impact is Lucene's score). */
  scale: number;
  maxImpact: number;
  minImpact: number;
}

/** Scratch space for `windowedMaxScore`, reused across queries. */
export interface WindowScratch {
  /** Essential score of each document of the window (0 = no essential term). */
  acc: Float64Array;
  /** One bit per document of the window that has an essential term. */
  seen: Int32Array;
}

export function windowScratch(): WindowScratch {
  return { acc: new Float64Array(WINDOW), seen: new Int32Array(WINDOW >>> 5) };
}

/**
 * Whether the pruned search reproduces exhaustive scores bit for bit for these terms.
 * Exhaustive search sums float32 term scores in a double in query order; pruning sums
 * them in another order. Both are exact (so equal) when every partial sum is a multiple
 * of the smallest term score's float32 ulp below 2^53 of them, which holds unless
 * scores span more than ~29 binary orders of magnitude (e.g. a zero score).
 */
export function sumsAreExact(terms: readonly QueryTerm[]): boolean {
  let min = Number.POSITIVE_INFINITY;
  let total = 0;
  for (const q of terms) {
    min = Math.min(min, q.minImpact * q.scale);
    total += q.maxImpact * q.scale;
  }
  if (!(min > 0) || !Number.isFinite(total)) return false;
  // Every float32 >= min is a multiple of 2^(exponent(min) - 23).
  const granularity = 2 ** (Math.floor(Math.log2(min)) - 24);
  return total < granularity * 2 ** 52;
}

// Bounds are compared with a margin far above the rounding of a double sum of a few
// terms (~1e-15 relative) and far below any score gap that matters for speed.
const SLACK = 1 + 1e-9;

/**
 * Block-max MaxScore over windows of documents, as Lucene 9.9's `MaxScoreBulkScorer`
 * (Turtle & Flood 1995; Ding & Suel 2011): for each window of `WINDOW` doc ordinals, every
 * query term's largest score in the window (from the block maxima) splits the terms into
 * "non-essential" ones, whose bounds together cannot lift a document above the current
 * k-th score, and essential ones. Only documents of essential terms are candidates: their
 * essential scores are accumulated term at a time in a small window accumulator, then each
 * candidate looks up the non-essential terms (largest bound first) while its bound can
 * still beat the k-th score.
 *
 * Rank-safe: a document is skipped only when an upper bound of its score is below the
 * current k-th score (strictly: an equal score may still win its tie, which `top` decides
 * by ordinal). Kept documents get exactly the exhaustive score: the same float32 term
 * scores, summed exactly in a double (callers check `sumsAreExact` first), rounded to float.
 *
 * `accept(d)` (deletes, filters) is asked only for documents that would enter the top k.
 */
export function windowedMaxScore(csr: Csr, blocks: BlockIndex, numDocs: number, terms: readonly QueryTerm[], top: TopK, accept: ((d: number) => boolean) | null, scratch: WindowScratch): void {
  const { offsets, docs } = csr;
  const { termBlocks, lastDoc } = blocks;
  const numTerms = numTermsOf(csr);
  const live = terms.filter((q) => q.term < numTerms && offsets[q.term + 1]! > offsets[q.term]!);
  const n = live.length;
  if (n === 0) return;

  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  const firstBlock = new Int32Array(n);
  const endBlock = new Int32Array(n);
  const blk = new Int32Array(n); // current block: the first whose last doc is >= the window start
  const scale = new Float64Array(n);
  const wmax = new Float64Array(n); // bound of each term in the current window
  const wlo = new Int32Array(n); // postings of each term in the current window: [wlo, whi)
  const whi = new Int32Array(n);
  const cursor = new Int32Array(n); // non-essential terms: next posting to look at in the window
  const order = new Int32Array(n);
  const prefix = new Float64Array(n + 1); // prefix[j]: bounds of order[0 .. j-1] together
  for (let i = 0; i < n; i++) {
    const t = live[i]!.term;
    lo[i] = offsets[t]!;
    hi[i] = offsets[t + 1]!;
    firstBlock[i] = termBlocks[t]!;
    endBlock[i] = termBlocks[t + 1]!;
    blk[i] = firstBlock[i]!;
    scale[i] = live[i]!.scale;
  }
  const impacts = live.map((q) => q.impacts);
  const impactBase = Int32Array.from(live, (q) => q.impactBase);
  const blockMax = live.map((q) => q.blockMax);
  const blockBase = Int32Array.from(live, (q) => q.blockBase);
  const { acc, seen } = scratch;
  let threshold = top.threshold;

  for (let start = 0; start < numDocs; start += WINDOW) {
    const end = start + WINDOW;
    // Each term's bound in this window, and where its postings in the window lie.
    for (let i = 0; i < n; i++) {
      let b = blk[i]!;
      const eb = endBlock[i]!;
      while (b < eb && lastDoc[b]! < start) b++;
      blk[i] = b;
      let m = 0;
      const bm = blockMax[i]!;
      const bb = blockBase[i]!;
      let e = b;
      for (; e < eb && docs[lo[i]! + ((e - firstBlock[i]!) << BLOCK_SHIFT)]! < end; e++) if (bm[e - bb]! > m) m = bm[e - bb]!;
      wmax[i] = m * scale[i]!;
      if (m === 0) {
        wlo[i] = whi[i] = 0;
        continue;
      }
      // First posting >= start, in block b; first posting >= end, in block e - 1 or at e's start.
      wlo[i] = lowerBound(docs, lo[i]! + ((b - firstBlock[i]!) << BLOCK_SHIFT), Math.min(hi[i]!, lo[i]! + ((b + 1 - firstBlock[i]!) << BLOCK_SHIFT)), start);
      whi[i] = lowerBound(docs, lo[i]! + ((e - 1 - firstBlock[i]!) << BLOCK_SHIFT), Math.min(hi[i]!, lo[i]! + ((e - firstBlock[i]!) << BLOCK_SHIFT)), end);
    }
    // Terms by window bound, ascending (insertion sort: queries have few terms).
    for (let i = 0; i < n; i++) {
      let j = i;
      while (j > 0 && wmax[order[j - 1]!]! > wmax[i]!) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    for (let j = 0; j < n; j++) prefix[j + 1] = prefix[j]! + wmax[order[j]!]!;
    let essential = 0;
    while (essential < n && prefix[essential + 1]! * SLACK < threshold) essential++;
    if (essential === n) continue;

    // Essential terms, term at a time into the window accumulator.
    for (let j = essential; j < n; j++) {
      const i = order[j]!;
      const imp = impacts[i]!;
      const base = impactBase[i]!;
      const s = scale[i]!;
      for (let p = wlo[i]!, ph = whi[i]!; p < ph; p++) {
        const l = docs[p]! - start;
        seen[l >>> 5]! |= 1 << (l & 31);
        acc[l]! += imp[p - base]! * s;
      }
    }

    // Candidates in ordinal order (so each non-essential term is searched forward from its
    // last position): add the non-essential terms while the document can still make it.
    const nonEssential = prefix[essential]!;
    for (let j = 0; j < essential; j++) cursor[order[j]!] = wlo[order[j]!]!;
    let w = 0;
    let bits = 0;
    try {
      for (; w < seen.length; w++) {
        bits = seen[w]!;
        if (bits === 0) continue;
        seen[w] = 0;
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const l = (w << 5) | (31 - Math.clz32(low));
          let score = acc[l]!;
          acc[l] = 0;
          if ((score + nonEssential) * SLACK < threshold) continue;
          const d = start + l;
          let j = essential - 1;
          for (; j >= 0; j--) {
            const i = order[j]!;
            const p = gallop(docs, cursor[i]!, whi[i]!, d);
            cursor[i] = p;
            if (p < whi[i]! && docs[p] === d) score += impacts[i]![p - impactBase[i]!]! * scale[i]!;
            if ((score + prefix[j]!) * SLACK < threshold) break;
          }
          if (j >= 0) continue;
          const exact = Math.fround(score);
          if (exact >= threshold && (accept === null || accept(d))) {
            top.push(d, exact);
            threshold = top.threshold;
          }
        }
      }
    } finally {
      // A throwing filter must not leave partial sums behind for the next query.
      for (; bits !== 0; bits &= bits - 1) acc[(w << 5) | (31 - Math.clz32(bits & -bits))] = 0;
      for (w++; w < seen.length; w++) {
        for (bits = seen[w]!; bits !== 0; bits &= bits - 1) acc[(w << 5) | (31 - Math.clz32(bits & -bits))] = 0;
        seen[w] = 0;
      }
    }
  }
}

/** `lowerBound` from a cursor that is usually close: exponential steps, then binary search. */
function gallop(docs: Int32Array, from: number, to: number, target: number): number {
  if (from >= to || docs[from]! >= target) return from;
  let lo = from; // docs[lo] < target
  let step = 1;
  let hi = from + 1;
  while (hi < to && docs[hi]! < target) {
    lo = hi;
    step <<= 1;
    hi = lo + step;
  }
  return lowerBound(docs, lo + 1, Math.min(hi, to), target);
}

/** First index in [from, to) whose doc is >= target (`to` if none); docs ascending there. */
function lowerBound(docs: Int32Array, from: number, to: number, target: number): number {
  let a = from;
  let b = to;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (docs[mid]! < target) a = mid + 1;
    else b = mid;
  }
  return a;
}
