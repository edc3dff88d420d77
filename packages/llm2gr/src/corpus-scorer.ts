import { InputError, checkOptions, type NextTokenScorer } from '@quarry/core';
import { corpusStatsScorerOptionsSchema } from './options.js';
import type { FmIndex } from './fm-index.js';
import type { TokenTrie } from './trie.js';
import { nearestTokens, type TokenVectors } from './token-similarity.js';

/** Encodes and decodes text to the token ids an index was built with. */
export interface TokenCodec {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export interface CorpusStatsScorerOptions {
  /** Weight of the question-token bonus against the corpus bigram log-probability, outside titles (default 1). */
  queryWeight?: number;
  /** Inverse temperature of the title lookahead (logit = titleWeight * match share in [0, 1]; default 100, tuned on SciFact train). */
  titleWeight?: number;
  /** Dirichlet smoothing mass of the bigram model towards unigrams (default 100). */
  smoothing?: number;
  /**
   * Text whose tokens never count as query evidence (the prompt templates: "Question",
   * "Title", ...). Tokens of the question itself are the evidence.
   */
  ignoreText?: readonly string[];
  /** Tokens whose inverse collection frequency (natural log) is below this are not evidence (default 3: stop words). */
  minIcf?: number;
  /** Weight of the corpus bigram log-probability (0 = query match only, 1 = full language model; default 1). */
  fluencyWeight?: number;
  /**
   * The title trie. With it, a next token inside a title (after `titleMarker`) is scored by
   * the best query match of any corpus title reachable through it (a lookahead the bigram
   * model cannot give); without it titles are scored like any text.
   */
  trie?: TokenTrie;
  /**
   * What a reachable title is worth: 'document' (default) — BM25-style saturation of the
   * question tokens' counts in the title's whole document (title tokens count too), counted
   * with the FM-index; 'title' — the share of question-token weight the title itself holds.
   */
  lookahead?: 'document' | 'title';
  /** With lookahead 'document': tokens occurring more often than this are skipped when counting (default 20000). */
  maxLocate?: number;
  /**
   * Token vectors (e.g. `ownEncoderTokenVectors`): each question token also counts its
   * `similarTokens` nearest corpus tokens (cosine >= `minSimilarity`), weighted by the similarity.
   */
  tokenVectors?: TokenVectors;
  /** Neighbours per question token with `tokenVectors` (default 3). */
  similarTokens?: number;
  /** Least cosine similarity of a neighbour (default 0.5). */
  minSimilarity?: number;
  /** Text that ends the title prompt (default "Title:"): tokens after its last occurrence are the title so far. */
  titleMarker?: string;
  /** Text that ends the passage prompt (default "Answer:"). */
  passageMarker?: string;
}

/**
 * The embedded scorer that needs no language model. It is NOT an LLM: the next-token
 * distribution is a corpus bigram model read from the FM-index (Dirichlet-smoothed towards
 * unigram frequencies), plus a bonus of `queryWeight * icf(t)` for every token t that occurs
 * in the prompt (the question), icf being the log inverse collection frequency. Under the
 * trie and FM-index constraints this ranks titles and passages by how many rare question
 * tokens they reproduce, in a fluent (corpus-attested) order: a lexical generative
 * retriever, useful offline and as a baseline for real LLM scorers.
 */
export class CorpusStatsScorer implements NextTokenScorer {
  readonly name = 'corpus-stats';
  readonly vocabSize: number;
  readonly #codec: TokenCodec;
  readonly #fm: FmIndex;
  readonly #logUni: Float32Array;
  readonly #uni: Float64Array;
  readonly #icf: Float32Array;
  readonly #ignore: Set<number>;
  readonly #lambda: number;
  readonly #titleWeight: number;
  readonly #mu: number;
  readonly #minIcf: number;
  readonly #beta: number;
  readonly #uniPowSum: number;
  readonly #trie: TokenTrie | undefined;
  readonly #titleMarker: number[];
  readonly #passageMarker: number[];
  readonly #lookahead: 'document' | 'title';
  readonly #postingCache = new Map<number, Int32Array>();
  readonly #vectors: TokenVectors | undefined;
  readonly #similar: number;
  readonly #minSim: number;
  readonly #neighbourCache = new Map<number, { token: number; similarity: number }[]>();
  #corpusTokens: Int32Array | undefined;
  #postingEntries = 0;
  readonly #maxLocate: number;
  #titleCache: { key: string; table: Float32Array[] } | undefined;
  readonly #bigrams = new Map<number, { tokens: Int32Array; counts: Int32Array; total: number }>();

  constructor(codec: TokenCodec, fm: FmIndex, options: CorpusStatsScorerOptions = {}) {
    checkOptions(corpusStatsScorerOptionsSchema, options, 'CorpusStatsScorer options');
    this.#codec = codec;
    this.#fm = fm;
    this.#lambda = options.queryWeight ?? 1;
    this.#mu = options.smoothing ?? 100;
    this.#titleWeight = options.titleWeight ?? 100;
    if (!(this.#titleWeight >= 0)) throw new InputError('CorpusStatsScorer: titleWeight must be >= 0.');
    this.#minIcf = options.minIcf ?? 3;
    this.#beta = options.fluencyWeight ?? 1;
    if (!(this.#beta >= 0)) throw new InputError('CorpusStatsScorer: fluencyWeight must be >= 0.');
    if (!(this.#lambda >= 0) || !(this.#mu > 0)) throw new InputError('CorpusStatsScorer: queryWeight must be >= 0 and smoothing > 0.');
    let maxId = codec.vocabSize - 1;
    const uni = fm.successorsOf([]);
    for (const s of uni) maxId = Math.max(maxId, s.token);
    this.vocabSize = maxId + 1;
    const V = this.vocabSize;
    const total = fm.tokenCount + V; // add-one smoothing keeps every token possible
    this.#uni = new Float64Array(V).fill(1 / total);
    for (const s of uni) this.#uni[s.token] = (s.count + 1) / total;
    this.#logUni = new Float32Array(V);
    this.#icf = new Float32Array(V);
    for (let t = 0; t < V; t++) {
      this.#logUni[t] = Math.log(this.#uni[t]!);
      this.#icf[t] = -Math.log(this.#uni[t]!);
    }
    let pow = 0;
    for (let t = 0; t < V; t++) pow += this.#uni[t]! ** this.#beta;
    this.#uniPowSum = pow;
    this.#trie = options.trie;
    this.#vectors = options.tokenVectors;
    this.#similar = options.similarTokens ?? 3;
    this.#minSim = options.minSimilarity ?? 0.5;
    if (this.#vectors && this.#vectors.vocabSize !== codec.vocabSize) {
      throw new InputError('CorpusStatsScorer: tokenVectors cover another vocabulary than the codec.');
    }
    this.#lookahead = options.lookahead ?? 'document';
    this.#maxLocate = options.maxLocate ?? 20_000;
    this.#titleMarker = codec.encode(options.titleMarker ?? 'Title:');
    this.#passageMarker = codec.encode(options.passageMarker ?? 'Answer:');
    this.#ignore = new Set((options.ignoreText ?? []).flatMap((t) => codec.encode(t)));
  }

  encode(text: string): number[] {
    return this.#codec.encode(text);
  }

  decode(ids: readonly number[]): string {
    return this.#codec.decode(ids);
  }

  #bigram(prev: number): { tokens: Int32Array; counts: Int32Array; total: number } {
    let b = this.#bigrams.get(prev);
    if (!b) {
      const succ = this.#fm.successorsOf([prev]);
      b = { tokens: Int32Array.from(succ, (s) => s.token), counts: Int32Array.from(succ, (s) => s.count), total: succ.reduce((a, s) => a + s.count, 0) };
      if (this.#bigrams.size > 50_000) this.#bigrams.clear();
      this.#bigrams.set(prev, b);
    }
    return b;
  }

  async nextTokenLogProbs(prefixes: readonly (readonly number[])[]): Promise<Float32Array[]> {
    return prefixes.map((p) => this.#title(p) ?? this.#one(p));
  }

  /** Query evidence: distinct prompt tokens that are neither template words nor stop words. */
  #evidence(tokens: readonly number[]): number[] {
    const out: number[] = [];
    for (const t of new Set(tokens)) if (t >= 0 && t < this.vocabSize && !this.#ignore.has(t) && this.#icf[t]! >= this.#minIcf) out.push(t);
    return out.sort((a, b) => a - b);
  }

  /** Inside a title: softmax over the trie children of queryWeight * (best reachable title match). */
  #title(prefix: readonly number[]): Float32Array | undefined {
    const trie = this.#trie;
    if (!trie) return undefined;
    const at = lastIndexOf(prefix, this.#titleMarker);
    if (at < 0 || lastIndexOf(prefix, this.#passageMarker) > at) return undefined;
    const node = trie.walk(prefix.slice(at + this.#titleMarker.length));
    if (!node) return undefined;
    const table = this.#titleTable(this.#evidence(prefix.slice(0, at)));
    const { tokens, nodes } = trie.children(node);
    const out = new Float32Array(this.vocabSize).fill(-Infinity);
    if (tokens.length === 0) return out;
    let max = -Infinity;
    const vals = nodes.map((n) => {
      const v = this.#titleWeight * rangeMax(table, n.lo, n.hi);
      if (v > max) max = v;
      return v;
    });
    let sum = 0;
    for (const v of vals) sum += Math.exp(v - max);
    const norm = max + Math.log(sum);
    tokens.forEach((t, i) => {
      if (t < out.length) out[t] = vals[i]! - norm;
    });
    return out;
  }

  /** Documents of every occurrence of token q (located with the FM-index, cached per token). */
  #postings(q: number): Int32Array {
    let p = this.#postingCache.get(q);
    if (!p) {
      const range = this.#fm.find([q]);
      p = range.ep - range.sp <= this.#maxLocate ? Int32Array.from(this.#fm.documentsOf(range)) : new Int32Array(0);
      this.#postingEntries += p.length;
      if (this.#postingEntries > 4_000_000) {
        this.#postingCache.clear();
        this.#postingEntries = p.length;
      }
      this.#postingCache.set(q, p);
    }
    return p;
  }

  /** Evidence tokens with their weights: icf(q), and icf(q) * similarity for each q's nearest corpus tokens. */
  #weightedTerms(evidence: number[]): Map<number, number> {
    const terms = new Map<number, number>(evidence.map((q) => [q, this.#icf[q]!]));
    if (!this.#vectors || this.#similar <= 0) return terms;
    if (!this.#corpusTokens) {
      this.#corpusTokens = Int32Array.from(
        this.#fm
          .successorsOf([])
          .filter((s) => this.#icf[s.token]! >= this.#minIcf)
          .map((s) => s.token),
      );
    }
    for (const q of evidence) {
      let near = this.#neighbourCache.get(q);
      if (!near) {
        near = nearestTokens(this.#vectors, q, this.#corpusTokens, this.#similar, this.#minSim);
        this.#neighbourCache.set(q, near);
      }
      for (const { token, similarity } of near) {
        if (evidence.includes(token)) continue;
        const w = this.#icf[q]! * similarity;
        if (w > (terms.get(token) ?? 0)) terms.set(token, w);
      }
    }
    return terms;
  }

  /** Per document: sum over weighted terms of w * tf / (tf + 1.2 * (0.25 + 0.75 * len / avgLen)), tf over title + text. */
  #documentScores(evidence: number[], trie: TokenTrie): Float64Array {
    const fm = this.#fm;
    const nd = fm.docCount;
    const scores = new Float64Array(nd);
    if (nd === 0) return scores;
    const titleLen = new Int32Array(nd);
    for (let r = 0; r < trie.size; r++) for (const d of trie.docsOf(r)) if (d < nd) titleLen[d] = trie.title(r).length;
    const avg = (fm.tokenCount + titleLen.reduce((a, b) => a + b, 0)) / nd;
    const tf = new Int32Array(nd);
    for (const [q, w] of this.#weightedTerms(evidence)) {
      tf.fill(0);
      for (const d of this.#postings(q)) tf[d]!++;
      for (let r = 0; r < trie.size; r++) {
        const title = trie.title(r);
        let c = 0;
        for (const t of title) if (t === q) c++;
        if (c) for (const d of trie.docsOf(r)) if (d < nd) tf[d]! += c;
      }
      for (let d = 0; d < nd; d++) {
        const f = tf[d]!;
        if (f) scores[d]! += (w * f) / (f + 1.2 * (0.25 + (0.75 * (fm.docLength(d) + titleLen[d]!)) / avg));
      }
    }
    return scores;
  }

  /** Per distinct title: icf-weighted share of the query evidence it contains; a sparse table for range max. */
  #titleTable(evidence: number[]): Float32Array[] {
    const key = evidence.join(',');
    if (this.#titleCache?.key === key) return this.#titleCache.table;
    const trie = this.#trie!;
    const weight = new Map(evidence.map((t) => [t, this.#icf[t]!]));
    let total = 0;
    for (const w of weight.values()) total += w;
    const base = new Float32Array(trie.size);
    const docScore = this.#lookahead === 'document' ? this.#documentScores(evidence, trie) : undefined;
    for (let r = 0; r < trie.size; r++) {
      if (docScore) {
        let best = 0;
        for (const d of trie.docsOf(r)) best = Math.max(best, docScore[d] ?? 0);
        base[r] = total > 0 ? best / total : 0;
        continue;
      }
      const title = trie.title(r);
      let s = 0;
      const seen = new Set<number>();
      for (const t of title) {
        const w = weight.get(t);
        if (w !== undefined && !seen.has(t)) {
          s += w;
          seen.add(t);
        }
      }
      base[r] = total > 0 ? s / total : 0;
    }
    const table = [base];
    for (let span = 2; span <= trie.size; span *= 2) {
      const prev = table[table.length - 1]!;
      const half = span / 2;
      const next = new Float32Array(trie.size - span + 1);
      for (let i = 0; i < next.length; i++) next[i] = Math.max(prev[i]!, prev[i + half]!);
      table.push(next);
    }
    this.#titleCache = { key, table };
    return table;
  }

  #one(prefix: readonly number[]): Float32Array {
    const V = this.vocabSize;
    const mu = this.#mu;
    const beta = this.#beta;
    const prev = prefix.length ? prefix[prefix.length - 1]! : -1;
    const big = prev >= 0 ? this.#bigram(prev) : { tokens: new Int32Array(0), counts: new Int32Array(0), total: 0 };
    const logZ = Math.log(big.total + mu);
    const logMu = Math.log(mu);
    // logit(t) = beta * log P_bigram(t | prev) + bonus(t). Unpatched tokens have P = mu * P_uni(t) / (total + mu);
    // bigram counts and query bonuses are sparse patches, so the normaliser costs O(patches).
    const patch = new Map<number, number>();
    for (let i = 0; i < big.tokens.length; i++) {
      const t = big.tokens[i]!;
      patch.set(t, beta * (Math.log(big.counts[i]! + mu * this.#uni[t]!) - logZ));
    }
    for (const t of new Set(prefix)) {
      if (t < 0 || t >= V || this.#ignore.has(t) || this.#icf[t]! < this.#minIcf) continue;
      patch.set(t, (patch.get(t) ?? beta * (logMu + this.#logUni[t]! - logZ)) + this.#lambda * this.#icf[t]!);
    }
    let patchedPow = 0;
    let patchedMass = 0;
    for (const [t, v] of patch) {
      patchedPow += this.#uni[t]! ** beta;
      patchedMass += Math.exp(v);
    }
    const shift = beta * (logMu - logZ);
    const norm = Math.log(Math.max(0, Math.exp(shift) * (this.#uniPowSum - patchedPow)) + patchedMass);
    const out = new Float32Array(V);
    const lu = this.#logUni;
    const base = shift - norm;
    for (let t = 0; t < V; t++) out[t] = beta * lu[t]! + base;
    for (const [t, v] of patch) out[t] = v - norm;
    return out;
  }
}

function lastIndexOf(hay: readonly number[], needle: readonly number[]): number {
  if (needle.length === 0) return -1;
  outer: for (let i = hay.length - needle.length; i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Max of table[0][lo..hi) from a sparse table. */
function rangeMax(table: Float32Array[], lo: number, hi: number): number {
  const len = hi - lo;
  if (len <= 0) return -Infinity;
  const k = 31 - Math.clz32(len);
  const row = table[k]!;
  return Math.max(row[lo]!, row[hi - (1 << k)]!);
}
