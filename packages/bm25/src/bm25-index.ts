import {
  DuplicateIdError,
  InputError,
  TopK,
  checkOptions,
  docText,
  throwIfAborted,
  type Doc,
  type DocScorer,
  type Hit,
  type Persistable,
  type ProgressCallback,
  type Query,
  type Retriever,
  type SearchOptions,
} from '@quarry/core';
import { createAnalyzer, type Analyzer, type AnalyzerName } from './analyzer.js';
import { emptyCsr, mergeCsr, numTermsOf, type Csr } from './csr.js';
import { PostingsBuffer } from './index-builder.js';
import { intToByte4 } from './lucene-norms.js';
import { buildBlockIndex, fillBlockMax, sumsAreExact, windowScratch, windowedMaxScore, type BlockIndex, type QueryTerm } from './pruning.js';
import { bm25AddAllOptionsSchema, bm25BuildOptionsSchema, bm25IndexOptionsSchema, bm25LoadOptionsSchema } from './options.js';
import { luceneAvgdl, luceneIdf, normInverse, normInverseCache, termScore } from './similarity.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { TermDictionary } from './term-dictionary.js';
import { ensureCapacity } from './typed.js';

export interface Bm25Options {
  /** Term-frequency saturation, finite and >= 0 (default 0.9, Anserini's BEIR setting). */
  k1?: number;
  /** Length normalisation in [0, 1] (default 0.4). */
  b?: number;
  /** `'english'` (default), `'simple'`, or any object with `analyze(text): string[]`. */
  analyzer?: AnalyzerName | Analyzer;
  /**
   * Score with Lucene's one-byte lossy document lengths, as Lucene and Anserini do
   * (default true). `false` uses exact lengths; avgdl is exact either way.
   */
  lossyNorms?: boolean;
}

export interface AddAllOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Expected number of docs, passed through to `onProgress` (e.g. a DocStore's size). */
  total?: number;
}

export interface LoadOptions {
  /** Required when the index was built with a custom analyzer (it cannot be saved). */
  analyzer?: Analyzer;
  /** Override the saved scoring parameters (they are applied at search time). */
  k1?: number;
  b?: number;
  lossyNorms?: boolean;
}

/** Collection statistics, over live (not deleted) documents. */
export interface Bm25Stats {
  /** Live documents. */
  docs: number;
  /** Live documents with at least one term: Lucene's `docCount`, the N of idf. */
  docCount: number;
  /** Tokens indexed over live documents (Lucene's `sumTotalTermFreq`). */
  sumTotalTermFreq: number;
  /** `sumTotalTermFreq / docCount` rounded to float32, as Lucene does. */
  avgdl: number;
  /** Distinct terms (including some only in deleted docs until the next compaction). */
  terms: number;
  /** Stored postings (including deleted docs' until the next compaction). */
  postings: number;
}

/** `search` options: core's `SearchOptions` plus the choice of algorithm. */
export interface Bm25SearchOptions extends SearchOptions {
  /**
   * `true`: score every posting of every query term (term at a time); `false`: rank-safe
   * dynamic pruning (block-max MaxScore), which skips documents that cannot reach the top
   * k. Both return identical hits, scores and tie order. Default: pruning for k up to
   * 100, exhaustive above (where the k-th score is too low for pruning to pay).
   */
  exhaustive?: boolean;
}

const PROGRESS_EVERY = 1000;
/** Above this k, search is exhaustive unless asked otherwise (see `Bm25SearchOptions.exhaustive`). */
const PRUNE_MAX_K = 100;
const DEFAULT_K = 10;

/**
 * Lucene-exact BM25 over an inverted index of flat typed arrays.
 *
 * Layout: a term dictionary (term -> id) and postings in CSR form (per term, doc
 * ordinals and term frequencies), plus exact document lengths. Documents added
 * after the last compaction sit in a small second CSR segment; deletes are
 * tombstones. Both are folded into the main segment (deleted docs purged,
 * ordinals renumbered) once they reach 1/8 of it, and before saving.
 *
 * Statistics always describe live documents: N (docs with at least one term), df
 * and avgdl drop as soon as a document is deleted, so deleting a document gives
 * exactly the scores of an index that never had it (Lucene instead keeps deleted
 * docs in its statistics until segments merge).
 *
 * Search is term-at-a-time over precomputed per-posting scores ("impacts",
 * bm25s-style eager scoring): each term's impacts are computed on first use after
 * any change to the collection, then each query is a few tight loops of
 * `acc[doc] += impact` into a Float64Array (Lucene sums float clause scores in a
 * double too) and a bounded heap over the touched docs.
 */
export class Bm25Index implements Retriever, Persistable, DocScorer {
  readonly name = 'bm25';
  readonly k1: number;
  readonly b: number;
  readonly lossyNorms: boolean;
  readonly analyzer: Analyzer;

  // Documents, by ordinal (insertion order, renumbered densely on compaction).
  #ids: string[] = [];
  #ordinals = new Map<string, number>();
  #lengths: Int32Array = new Int32Array(16);
  #deleted = new Uint8Array(16);
  #deletedCount = 0;
  /** Tokens of deleted docs still in the postings (upper bound on their postings). */
  #deletedTokens = 0;
  #docCount = 0;
  #sumTotalTermFreq = 0;

  #dict = new TermDictionary();

  // Postings: the main segment, plus docs added since the last compaction.
  #base: Csr = emptyCsr();
  #buffer = new PostingsBuffer();
  #tail: Csr | null = emptyCsr();

  // Scoring caches, valid for one `#epoch` (bumped by every add and delete).
  #epoch = 1;
  #termEpoch = new Int32Array(16);
  #idf = new Float32Array(16);
  #baseImpacts = new Float32Array(0);
  // Skip data of the main segment (block-max pruning): block bounds, and per epoch each
  // block's and each term's largest score.
  #baseBlocks: BlockIndex = buildBlockIndex(this.#base);
  #blockMax = new Float32Array(0);
  #termMax = new Float32Array(16);
  #termMin = new Float32Array(16);
  #window = windowScratch();
  #tailImpacts = new Float32Array(0);
  #normEpoch = 0;
  #normInv = new Float32Array(16);

  // Query scratch, reused across queries.
  #acc = new Float64Array(16);
  #touched = new Int32Array(16);
  #termIds = new Int32Array(256);

  constructor(options: Bm25Options = {}) {
    const k1 = options.k1 ?? 0.9;
    const b = options.b ?? 0.4;
    if (typeof k1 !== 'number' || !Number.isFinite(k1) || k1 < 0) throw new InputError(`BM25 k1 must be a finite number >= 0 (got ${String(k1)}); 0.9 is Anserini's default, 1.2 Lucene's.`, { k1 });
    if (typeof b !== 'number' || Number.isNaN(b) || b < 0 || b > 1) throw new InputError(`BM25 b must be between 0 and 1 (got ${String(b)}); 0.4 is Anserini's default, 0.75 Lucene's.`, { b });
    this.k1 = k1;
    this.b = b;
    this.lossyNorms = options.lossyNorms ?? true;
    const analyzer = options.analyzer ?? 'english';
    if (typeof analyzer === 'string') this.analyzer = createAnalyzer(analyzer);
    else if (analyzer && typeof analyzer.analyze === 'function') this.analyzer = analyzer;
    else throw new InputError('BM25 analyzer must be "english", "simple" or an object with analyze(text): string[].');
    // After the value checks above (their InputErrors say what the values mean): unknown keys.
    checkOptions(bm25IndexOptionsSchema, options, 'Bm25Index options');
  }

  /** Builds an index over `docs` (any iterable or async iterable). */
  static async build(docs: Iterable<Doc> | AsyncIterable<Doc>, options: Bm25Options & AddAllOptions = {}): Promise<Bm25Index> {
    checkOptions(bm25BuildOptionsSchema, options, 'Bm25Index.build options');
    const { signal, onProgress, total, ...indexOptions } = options;
    const index = new Bm25Index(indexOptions);
    await index.addAll(docs, { signal, onProgress, total });
    // Finish the work searches would otherwise do lazily, so the index is ready to serve.
    index.#prepare();
    return index;
  }

  /** Reads an index written by `save`. Throws `IndexCorruptError` if any file is damaged. */
  static async load(dir: string, options: LoadOptions = {}): Promise<Bm25Index> {
    checkOptions(bm25LoadOptionsSchema, options, 'Bm25Index.load options');
    const { snapshot, meta } = await readSnapshot(dir);
    let analyzer: Analyzer | AnalyzerName;
    if (options.analyzer) {
      if ((options.analyzer.name ?? 'custom') !== meta.analyzer) {
        throw new InputError(
          `${dir} was indexed with analyzer "${meta.analyzer}", but the analyzer passed to load is "${options.analyzer.name ?? 'custom'}". Pass the same analyzer, or rebuild the index.`,
        );
      }
      analyzer = options.analyzer;
    } else if (meta.analyzer === 'english' || meta.analyzer === 'simple') analyzer = meta.analyzer;
    else throw new InputError(`${dir} was indexed with the custom analyzer "${meta.analyzer}"; pass it as Bm25Index.load(dir, { analyzer }).`);
    const index = new Bm25Index({ k1: options.k1 ?? meta.k1, b: options.b ?? meta.b, lossyNorms: options.lossyNorms ?? meta.lossyNorms, analyzer });
    index.#restore(snapshot.ids, snapshot.terms, snapshot.lengths, snapshot.postings);
    return index;
  }

  /** Live documents. */
  get size(): number {
    return this.#ids.length - this.#deletedCount;
  }

  has(id: string): boolean {
    return this.#ordinals.has(id);
  }

  /** Indexes one document (title and text as one field). Throws `DuplicateIdError` if its id is live. */
  add(doc: Doc): void {
    checkDoc(doc);
    if (this.#ordinals.has(doc.id)) throw new DuplicateIdError(doc.id, 'BM25 index');
    const count = this.#analyzeToIds(docText(doc), true);
    const ord = this.#ids.length;
    const termIds = this.#termIds;
    this.#buffer.addDocument(ord, termIds, count, this.#dict.size);
    this.#ids.push(doc.id);
    this.#ordinals.set(doc.id, ord);
    this.#lengths = ensureCapacity(this.#lengths, ord + 1);
    this.#deleted = ensureCapacity(this.#deleted, ord + 1);
    this.#lengths[ord] = count;
    if (count > 0) {
      this.#docCount++;
      this.#sumTotalTermFreq += count;
    }
    this.#tail = null;
    this.#epoch++;
  }

  /**
   * Indexes a stream of documents, reporting progress and honouring `signal`
   * between documents. On cancel, the documents already added stay searchable;
   * skip them with `has(id)` to resume. Returns the number of documents added.
   */
  async addAll(docs: Iterable<Doc> | AsyncIterable<Doc>, options: AddAllOptions = {}): Promise<number> {
    checkOptions(bm25AddAllOptionsSchema, options, 'Bm25Index.addAll options');
    const { signal, onProgress, total } = options;
    let done = 0;
    const report = () => onProgress?.(total === undefined ? { phase: 'index', done } : { phase: 'index', done, total });
    const step = (doc: Doc): boolean => {
      throwIfAborted(signal, 'BM25 indexing');
      this.add(doc);
      if (++done % PROGRESS_EVERY !== 0) return false;
      report();
      return true;
    };
    // Every PROGRESS_EVERY docs, let timers and I/O run (an abort, a progress bar) during long in-memory builds.
    const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));
    if (isSyncIterable(docs)) {
      for (const doc of docs) if (step(doc)) await breathe();
    } else {
      for await (const doc of docs) if (step(doc)) await breathe();
    }
    if (done % PROGRESS_EVERY !== 0 || done === 0) report();
    return done;
  }

  /** Removes a document; returns false if no live document has this id. */
  delete(id: string): boolean {
    const ord = this.#ordinals.get(id);
    if (ord === undefined) return false;
    this.#ordinals.delete(id);
    this.#deleted[ord] = 1;
    this.#deletedCount++;
    const length = this.#lengths[ord]!;
    if (length > 0) {
      this.#docCount--;
      this.#sumTotalTermFreq -= length;
      this.#deletedTokens += length;
    }
    this.#epoch++;
    return true;
  }

  stats(): Bm25Stats {
    return {
      docs: this.size,
      docCount: this.#docCount,
      sumTotalTermFreq: this.#sumTotalTermFreq,
      avgdl: luceneAvgdl(this.#sumTotalTermFreq, this.#docCount),
      terms: this.#dict.size,
      postings: this.#base.docs.length + this.#buffer.length,
    };
  }

  async search(query: Query | string, options: Bm25SearchOptions = {}): Promise<Hit[]> {
    const { k, filter, exhaustive } = checkSearchOptions(options);
    throwIfAborted(options.signal, 'BM25 search');
    return this.#search(queryText(query), k, filter, exhaustive);
  }

  async searchBatch(queries: readonly (Query | string)[], options: Bm25SearchOptions = {}): Promise<Hit[][]> {
    if (!Array.isArray(queries)) throw new InputError('searchBatch expects an array of queries (strings or { id, text }).');
    const { k, filter, exhaustive } = checkSearchOptions(options);
    const texts = queries.map(queryText);
    const out: Hit[][] = [];
    for (const text of texts) {
      throwIfAborted(options.signal, 'BM25 search');
      out.push(this.#search(text, k, filter, exhaustive));
    }
    return out;
  }

  /** Writes the index to `dir` atomically (format `quarry-bm25` v1, checksummed). */
  async save(dir: string): Promise<void> {
    if (this.#buffer.length > 0 || this.#deletedCount > 0) this.#compact();
    const n = this.#ids.length;
    // Copy what later adds would mutate, so the files agree with each other even if the
    // index changes while they are written (postings arrays are replaced, never mutated).
    await writeSnapshot(
      dir,
      { ids: this.#ids.slice(), terms: [...this.#dict.terms()], lengths: this.#lengths.slice(0, n), postings: this.#base },
      {
        k1: this.k1,
        b: this.b,
        lossyNorms: this.lossyNorms,
        analyzer: this.analyzer.name ?? 'custom',
        docs: n,
        terms: this.#dict.size,
        postings: this.#base.docs.length,
        sumTotalTermFreq: this.#sumTotalTermFreq,
        byteOrder: 'little-endian',
      },
    );
  }

  #restore(ids: string[], terms: string[], lengths: Int32Array, postings: Csr): void {
    this.#ids = ids;
    this.#ordinals = new Map(ids.map((id, i) => [id, i]));
    this.#lengths = lengths;
    this.#deleted = new Uint8Array(Math.max(16, ids.length));
    this.#dict = TermDictionary.from(terms);
    this.#setBase(postings);
    this.#tail = null;
    let docCount = 0;
    let sum = 0;
    for (let d = 0; d < ids.length; d++) {
      if (lengths[d]! > 0) docCount++;
      sum += lengths[d]!;
    }
    this.#docCount = docCount;
    this.#sumTotalTermFreq = sum;
    this.#epoch++;
  }

  /**
   * Analyses `text` into term ids (in text order, repeats kept) in `#termIds`; returns how
   * many. With `intern`, new terms get ids; without, terms the index lacks are skipped.
   */
  #analyzeToIds(text: string, intern: boolean): number {
    const terms = this.analyzer.analyze(text);
    const dict = this.#dict;
    const ids = (this.#termIds = ensureCapacity(this.#termIds, terms.length));
    let n = 0;
    for (const term of terms) {
      const id = intern ? dict.intern(term) : dict.idOf(term);
      if (id !== undefined) ids[n++] = id;
    }
    return n;
  }

  #setBase(csr: Csr): void {
    this.#base = csr;
    this.#baseImpacts = new Float32Array(csr.docs.length);
    this.#baseBlocks = buildBlockIndex(csr);
    this.#blockMax = new Float32Array(this.#baseBlocks.lastDoc.length);
  }

  #search(text: string, k: number, filter: ((id: string) => boolean) | undefined, exhaustive: boolean): Hit[] {
    if (k === 0 || this.size === 0) return [];
    const top = new TopK(Math.min(k, this.size));
    if (exhaustive || !this.#searchPruned(text, top, filter)) {
      const touched = this.#scoreQuery(text);
      if (touched > 0) this.#select(touched, top, filter);
    }
    const { indices, scores } = top.drain();
    const ids = this.#ids;
    const hits: Hit[] = new Array(indices.length);
    for (let r = 0; r < indices.length; r++) hits[r] = { id: ids[indices[r]!]!, score: scores[r]! };
    return hits;
  }

  /**
   * Dynamic pruning over the main segment, then the (small) segment of recent adds term at
   * a time. Returns false, having done nothing, for the rare query whose term scores span so
   * many orders of magnitude that only the exhaustive summation order is exact.
   */
  #searchPruned(text: string, top: TopK, filter: ((id: string) => boolean) | undefined): boolean {
    this.#prepare();
    const terms = this.#queryTerms(text);
    if (terms.length === 0) return true;
    const base = this.#base;
    const inBase = numTermsOf(base);
    const queryTerms: QueryTerm[] = [];
    for (const [t, boost] of terms) {
      this.#ensureTermScored(t);
      if (t >= inBase) continue;
      if ((boost & (boost - 1)) === 0) {
        queryTerms.push({ term: t, impacts: this.#baseImpacts, impactBase: 0, blockMax: this.#blockMax, blockBase: 0, scale: boost, maxImpact: this.#termMax[t]!, minImpact: this.#termMin[t]! });
        continue;
      }
      // A repeat count that is not a power of two scores from the boosted weight, with float
      // rounding of its own (as exhaustive search does): score this term's postings for the query.
      const lo = base.offsets[t]!;
      const hi = base.offsets[t + 1]!;
      const weight = Math.fround(boost * this.#idf[t]!);
      const impacts = new Float32Array(hi - lo);
      for (let j = lo; j < hi; j++) impacts[j - lo] = termScore(weight, base.tfs[j]!, this.#normInv[base.docs[j]!]!);
      const blockBase = this.#baseBlocks.termBlocks[t]!;
      const blockMax = new Float32Array(this.#baseBlocks.termBlocks[t + 1]! - blockBase);
      const { max, min } = fillBlockMax(base, this.#baseBlocks, t, impacts, lo, blockMax, blockBase);
      queryTerms.push({ term: t, impacts, impactBase: lo, blockMax, blockBase, scale: 1, maxImpact: max, minImpact: min });
    }
    if (!sumsAreExact(queryTerms)) return false;
    const deleted = this.#deletedCount > 0 ? this.#deleted : null;
    const ids = this.#ids;
    const accept = deleted === null && filter === undefined ? null : (d: number) => (deleted === null || deleted[d] === 0) && (filter === undefined || filter(ids[d]!));
    windowedMaxScore(base, this.#baseBlocks, this.#ids.length, queryTerms, top, accept, this.#window);
    // Recent adds have larger ordinals than every doc of the main segment.
    if (this.#tail!.docs.length === 0) return true;
    let touched = 0;
    for (const [t, boost] of terms) touched = this.#accumulate(this.#tail!, this.#tailImpacts, t, boost, touched);
    if (touched > 0) this.#select(touched, top, filter);
    return true;
  }

  /** The query's distinct known terms in order of first occurrence, each with its count. */
  #queryTerms(text: string): [number, number][] {
    const count = this.#analyzeToIds(text, false);
    const termIds = this.#termIds;
    const boosts = new Map<number, number>();
    for (let i = 0; i < count; i++) boosts.set(termIds[i]!, (boosts.get(termIds[i]!) ?? 0) + 1);
    return [...boosts];
  }

  /**
   * Scores given documents for a query exactly as `search` would rank them (hard-negative
   * mining needs the score of positives outside the top k). Unknown or deleted ids score NaN;
   * a live document sharing no term with the query scores 0.
   */
  async scoreDocs(query: Query | string, ids: readonly string[]): Promise<Float64Array> {
    const out = new Float64Array(ids.length);
    const touched = this.size === 0 ? 0 : this.#scoreQuery(queryText(query));
    const acc = this.#acc;
    ids.forEach((id, i) => {
      const ord = this.#ordinals.get(id);
      out[i] = ord === undefined || (this.#deletedCount > 0 && this.#deleted[ord] === 1) ? Number.NaN : Math.fround(acc[ord] ?? 0);
    });
    for (let i = 0; i < touched; i++) acc[this.#touched[i]!] = 0;
    return out;
  }

  /** Accumulates the query's scores into the scratch accumulator; returns how many docs it touched. */
  #scoreQuery(text: string): number {
    this.#prepare();
    // Distinct query terms with their multiplicity: Anserini boosts a repeated term by its count.
    let touched = 0;
    for (const [t, boost] of this.#queryTerms(text)) {
      this.#ensureTermScored(t);
      touched = this.#accumulate(this.#base, this.#baseImpacts, t, boost, touched);
      touched = this.#accumulate(this.#tail!, this.#tailImpacts, t, boost, touched);
    }
    return touched;
  }

  /** Adds term `t`'s contribution to every doc containing it; returns the new count of touched docs. */
  #accumulate(csr: Csr, impacts: Float32Array, t: number, boost: number, touchedCount: number): number {
    if (t >= numTermsOf(csr)) return touchedCount;
    const lo = csr.offsets[t]!;
    const hi = csr.offsets[t + 1]!;
    const docs = csr.docs;
    const acc = this.#acc;
    const touched = this.#touched;
    let n = touchedCount;
    if (boost === 1) {
      for (let j = lo; j < hi; j++) {
        const d = docs[j]!;
        const v = acc[d]!;
        if (v === 0) touched[n++] = d;
        acc[d] = v + impacts[j]!;
      }
    } else if ((boost & (boost - 1)) === 0) {
      // A power-of-two boost scales every float32 rounding step exactly, so boost * impact is Lucene's score.
      for (let j = lo; j < hi; j++) {
        const d = docs[j]!;
        const v = acc[d]!;
        if (v === 0) touched[n++] = d;
        acc[d] = v + impacts[j]! * boost;
      }
    } else {
      const weight = Math.fround(boost * this.#idf[t]!);
      const tfs = csr.tfs;
      const normInv = this.#normInv;
      for (let j = lo; j < hi; j++) {
        const d = docs[j]!;
        const v = acc[d]!;
        if (v === 0) touched[n++] = d;
        acc[d] = v + termScore(weight, tfs[j]!, normInv[d]!);
      }
    }
    return n;
  }

  /** Pushes the touched docs into `top` (score as Lucene's float, ties to the earlier doc), resetting the accumulator. */
  #select(touchedCount: number, top: TopK, filter: ((id: string) => boolean) | undefined): void {
    const acc = this.#acc;
    const touched = this.#touched;
    const deleted = this.#deletedCount > 0 ? this.#deleted : null;
    const ids = this.#ids;
    let threshold = top.threshold; // refreshed after each push: most docs fail this test
    let i = 0;
    try {
      for (; i < touchedCount; i++) {
        const d = touched[i]!;
        const score = Math.fround(acc[d]!);
        acc[d] = 0;
        if (score < threshold) continue;
        if (deleted !== null && deleted[d] === 1) continue;
        if (filter !== undefined && !filter(ids[d]!)) continue;
        top.push(d, score);
        threshold = top.threshold;
      }
    } finally {
      // A throwing filter must not leave partial sums behind for the next query.
      for (; i < touchedCount; i++) acc[touched[i]!] = 0;
    }
  }

  /** Brings segments, norms and scratch space up to date with the collection. */
  #prepare(): void {
    const stale = this.#buffer.length + this.#deletedTokens;
    if (stale > 0 && (this.#base.docs.length === 0 || stale * 8 >= this.#base.docs.length)) this.#compact();
    if (this.#tail === null) {
      this.#tail = this.#buffer.toCsr(this.#dict.size);
      this.#tailImpacts = new Float32Array(this.#tail.docs.length);
    }
    const numTerms = this.#dict.size;
    if (this.#termEpoch.length < numTerms) {
      this.#termEpoch = ensureCapacity(this.#termEpoch, numTerms);
      this.#idf = ensureCapacity(this.#idf, numTerms);
      this.#termMax = ensureCapacity(this.#termMax, numTerms);
      this.#termMin = ensureCapacity(this.#termMin, numTerms);
    }
    const numDocs = this.#ids.length;
    if (this.#acc.length < numDocs) {
      this.#acc = ensureCapacity(this.#acc, numDocs);
      this.#touched = ensureCapacity(this.#touched, numDocs);
    }
    if (this.#normEpoch !== this.#epoch) this.#refreshNorms();
  }

  /** 1 / (k1 * (1 - b + b * dl / avgdl)) per doc, from the lossy or the exact length. */
  #refreshNorms(): void {
    const n = this.#ids.length;
    this.#normInv = ensureCapacity(this.#normInv, n);
    const normInv = this.#normInv;
    const lengths = this.#lengths;
    const avgdl = luceneAvgdl(this.#sumTotalTermFreq, this.#docCount);
    if (this.lossyNorms) {
      const cache = normInverseCache(this.k1, this.b, avgdl);
      for (let d = 0; d < n; d++) normInv[d] = cache[intToByte4(lengths[d]!)]!;
    } else {
      for (let d = 0; d < n; d++) normInv[d] = normInverse(this.k1, this.b, lengths[d]!, avgdl);
    }
    this.#normEpoch = this.#epoch;
  }

  /** Computes term `t`'s idf and its per-posting scores, once per epoch. */
  #ensureTermScored(t: number): void {
    if (this.#termEpoch[t] === this.#epoch) return;
    const base = this.#base;
    const tail = this.#tail!;
    const deleted = this.#deletedCount > 0 ? this.#deleted : null;
    const liveIn = (csr: Csr): number => {
      if (t >= numTermsOf(csr)) return 0;
      const lo = csr.offsets[t]!;
      const hi = csr.offsets[t + 1]!;
      if (deleted === null) return hi - lo;
      let live = 0;
      for (let j = lo; j < hi; j++) if (deleted[csr.docs[j]!] === 0) live++;
      return live;
    };
    const idf = luceneIdf(liveIn(base) + liveIn(tail), this.#docCount);
    this.#idf[t] = idf;
    const normInv = this.#normInv;
    const fill = (csr: Csr, impacts: Float32Array) => {
      if (t >= numTermsOf(csr)) return;
      const docs = csr.docs;
      const tfs = csr.tfs;
      for (let j = csr.offsets[t]!, hi = csr.offsets[t + 1]!; j < hi; j++) impacts[j] = termScore(idf, tfs[j]!, normInv[docs[j]!]!);
    };
    fill(base, this.#baseImpacts);
    if (t < numTermsOf(base)) {
      const { max, min } = fillBlockMax(base, this.#baseBlocks, t, this.#baseImpacts, 0, this.#blockMax, 0);
      this.#termMax[t] = max;
      this.#termMin[t] = min;
    }
    fill(tail, this.#tailImpacts);
    this.#termEpoch[t] = this.#epoch;
  }

  /** Folds the tail segment into the main one, purging deleted docs (ordinals renumbered) and terms left empty. */
  #compact(): void {
    const numTerms = this.#dict.size;
    const tail = this.#buffer.toCsr(numTerms);
    let docMap: Int32Array | null = null;
    if (this.#deletedCount > 0) {
      const n = this.#ids.length;
      docMap = new Int32Array(n);
      const ids: string[] = [];
      const lengths = new Int32Array(Math.max(16, n - this.#deletedCount));
      for (let d = 0; d < n; d++) {
        if (this.#deleted[d] === 1) docMap[d] = -1;
        else {
          docMap[d] = ids.length;
          lengths[ids.length] = this.#lengths[d]!;
          ids.push(this.#ids[d]!);
        }
      }
      this.#ids = ids;
      this.#ordinals = new Map(ids.map((id, i) => [id, i]));
      this.#lengths = lengths;
      this.#deleted = new Uint8Array(lengths.length);
      this.#deletedCount = 0;
      this.#deletedTokens = 0;
    }
    const { csr, termMap } = mergeCsr(this.#base, tail, numTerms, docMap, docMap !== null);
    if (termMap) {
      const terms = this.#dict.terms().filter((_, t) => termMap[t]! >= 0);
      this.#dict = TermDictionary.from(terms);
    }
    this.#setBase(csr);
    this.#buffer.clear();
    this.#tail = null;
    this.#termEpoch.fill(0);
    this.#epoch++;
  }
}

function isSyncIterable<T>(value: Iterable<T> | AsyncIterable<T>): value is Iterable<T> {
  return typeof (value as Iterable<T>)[Symbol.iterator] === 'function';
}

function checkDoc(doc: Doc): void {
  if (doc === null || typeof doc !== 'object') throw new InputError(`Expected a document { id, title?, text }, got ${doc === null ? 'null' : typeof doc}.`);
  if (typeof doc.id !== 'string' || doc.id === '') throw new InputError(`Document id must be a non-empty string (got ${JSON.stringify(doc.id)}); convert numeric ids with String(id).`, { id: doc.id });
  if (typeof doc.text !== 'string') throw new InputError(`Document "${doc.id}" has no string "text"; use "" for a document with a title only.`, { id: doc.id });
  if (doc.title !== undefined && typeof doc.title !== 'string') throw new InputError(`Document "${doc.id}" has a non-string "title".`, { id: doc.id });
}

function queryText(query: Query | string): string {
  if (typeof query === 'string') return query;
  if (query !== null && typeof query === 'object' && typeof query.text === 'string') return query.text;
  throw new InputError('A query must be a string or { id, text } with a string text.');
}

function checkSearchOptions(options: Bm25SearchOptions): { k: number; filter: ((id: string) => boolean) | undefined; exhaustive: boolean } {
  if (options === null || typeof options !== 'object') throw new InputError('Search options must be an object such as { k: 10 }.');
  const k = options.k ?? DEFAULT_K;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0) {
    throw new InputError(`k must be a whole number >= 0 (got ${String(k)}); pass e.g. { k: 10 }, or { k: index.size } for every match.`, { k });
  }
  if (options.filter !== undefined && typeof options.filter !== 'function') throw new InputError('filter must be a function (id: string) => boolean.');
  if (options.exhaustive !== undefined && typeof options.exhaustive !== 'boolean') throw new InputError('exhaustive must be true or false.');
  return { k, filter: options.filter, exhaustive: options.exhaustive ?? k > PRUNE_MAX_K };
}
