import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexCorruptError, InputError, bytesOf, checkOptions, openIndexDir, readTyped, saveIndexDir, throwIfAborted, type ProgressCallback } from '@quarry/core';
import { fmIndexBuildOptionsSchema } from './options.js';
import { suffixArray } from './sais.js';
import { WaveletMatrix, bitvectorLength, finishBitvector, getBit, rank1, setBit } from './wavelet.js';

export const FM_INDEX_FORMAT = 'quarry-fm-index';
export const FM_INDEX_VERSION = 1;

const SENTINEL = 0;
const SEPARATOR = 1;
const FIRST_TOKEN_SYMBOL = 2;

export interface FmIndexBuildOptions {
  /** Keep one suffix-array sample every `sampleRate` text positions (locate cost vs size; default 32). */
  sampleRate?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** An occurrence: document number (build order), offset of the first token inside it, global text position. */
export interface Occurrence {
  doc: number;
  offset: number;
  position: number;
}

/** A pattern's matches as a suffix-array interval; extend it token by token, left to right. */
export interface FmRange {
  /** First row (inclusive). */
  sp: number;
  /** Last row (exclusive). */
  ep: number;
  /** Tokens matched so far. */
  length: number;
}

/** A distinct next token of a pattern with how often pattern+token occurs. */
export interface Successor {
  token: number;
  count: number;
  range: FmRange;
}

interface FmParts {
  docCount: number;
  textLength: number; // N: tokens + one separator per document
  sampleRate: number;
  sigma: number;
  wm: WaveletMatrix;
  /** C[c]: rows whose suffix starts with a symbol < c. Length sigma + 1. */
  C: Int32Array;
  /** Final wavelet-level start of each symbol. */
  finalStart: Int32Array;
  /** Symbol -> token id (symbols 0 and 1 are the sentinel and the document separator). */
  symbolToken: Int32Array;
  /** Rows whose SA value is sampled. */
  sampled: Int32Array;
  /** SA values of sampled rows, in row order. */
  saSamples: Int32Array;
  /** Row of the suffix starting at reversed-text position k*sampleRate, and at N (last entry). */
  isaSamples: Int32Array;
  /** Start of each document in the concatenated text; length docCount + 1. */
  docStarts: Int32Array;
}

/**
 * An FM-index over token-id sequences (documents), built on the *reversed* concatenation
 * `d0 # d1 # ... # $` so that backward search consumes a pattern left to right: a beam
 * can extend its match one token at a time and ask for the distinct successor tokens of
 * what it has generated (a range-distinct query on the wavelet matrix), which is what
 * constrained decoding needs. Suffix array by SA-IS, BWT stored in a wavelet matrix,
 * sampled SA for locate, sampled inverse SA for extract, document boundaries for
 * (doc, offset). Patterns never match across documents.
 */
export class FmIndex {
  readonly docCount: number;
  /** Total tokens (separators excluded). */
  readonly tokenCount: number;
  readonly #p: FmParts;
  /** Token id -> symbol (-1: the index never saw it). */
  readonly #tokenSymbol: Int32Array;
  readonly #tmp = new Int32Array(2);
  #docArray: Uint16Array | Int32Array | undefined;

  private constructor(parts: FmParts) {
    this.#p = parts;
    this.docCount = parts.docCount;
    this.tokenCount = parts.textLength - parts.docCount;
    let maxToken = -1;
    for (let s = FIRST_TOKEN_SYMBOL; s < parts.sigma; s++) maxToken = Math.max(maxToken, parts.symbolToken[s]!);
    this.#tokenSymbol = new Int32Array(maxToken + 1).fill(-1);
    for (let s = FIRST_TOKEN_SYMBOL; s < parts.sigma; s++) this.#tokenSymbol[parts.symbolToken[s]!] = s;
  }

  /** Builds the index over documents given as token-id sequences (non-negative integers). */
  static build(docs: readonly ArrayLike<number>[], options: FmIndexBuildOptions = {}): FmIndex {
    checkOptions(fmIndexBuildOptionsSchema, options, 'FmIndex.build options');
    const sampleRate = options.sampleRate ?? 32;
    if (!Number.isInteger(sampleRate) || sampleRate < 1) throw new InputError(`sampleRate must be a positive integer, got ${sampleRate}.`);
    const signal = options.signal;
    // Alphabet: distinct token ids, ordered, after the sentinel and separator.
    let total = 0;
    const seen = new Set<number>();
    for (let d = 0; d < docs.length; d++) {
      const doc = docs[d]!;
      for (let i = 0; i < doc.length; i++) {
        const t = doc[i]!;
        if (!Number.isInteger(t) || t < 0) throw new InputError(`Document ${d} holds token ${t} at ${i}; token ids must be non-negative integers.`);
        seen.add(t);
      }
      total += doc.length;
    }
    const tokens = Int32Array.from(seen).sort();
    const sigma = tokens.length + FIRST_TOKEN_SYMBOL;
    const symbolToken = new Int32Array(sigma).fill(-1);
    symbolToken.set(tokens, FIRST_TOKEN_SYMBOL);
    const tokenSymbol = new Map<number, number>();
    tokens.forEach((t, i) => tokenSymbol.set(t, i + FIRST_TOKEN_SYMBOL));

    const N = total + docs.length;
    const n = N + 1;
    const docStarts = new Int32Array(docs.length + 1);
    // Reversed text R: R[k] = T[N-1-k] for k < N, R[N] = $.
    const R = new Int32Array(n);
    let p = 0;
    for (let d = 0; d < docs.length; d++) {
      docStarts[d] = p;
      const doc = docs[d]!;
      for (let i = 0; i < doc.length; i++) R[N - 1 - p++] = tokenSymbol.get(doc[i]!)!;
      R[N - 1 - p++] = SEPARATOR;
    }
    docStarts[docs.length] = p;
    R[N] = SENTINEL;
    throwIfAborted(signal, 'FM-index build');
    options.onProgress?.({ phase: 'suffix array', done: 0, total: n });
    const sa = suffixArray(R, sigma);
    throwIfAborted(signal, 'FM-index build');
    options.onProgress?.({ phase: 'suffix array', done: n, total: n });

    const bwt = new Int32Array(n);
    const sampled = new Int32Array(bitvectorLength(n));
    let sampleCount = 0;
    const isaSamples = new Int32Array(Math.floor(N / sampleRate) + 2);
    for (let i = 0; i < n; i++) {
      const s = sa[i]!;
      bwt[i] = s === 0 ? R[n - 1]! : R[s - 1]!;
      if (s % sampleRate === 0) {
        setBit(sampled, i);
        sampleCount++;
        isaSamples[s / sampleRate] = i;
      }
    }
    isaSamples[isaSamples.length - 1] = 0; // the suffix at N ("$") is row 0
    finishBitvector(sampled);
    const saSamples = new Int32Array(sampleCount);
    for (let i = 0, j = 0; i < n; i++) if (getBit(sampled, i)) saSamples[j++] = sa[i]!;

    const C = new Int32Array(sigma + 1);
    for (let i = 0; i < n; i++) C[R[i]! + 1]!++;
    for (let c = 0; c < sigma; c++) C[c + 1]! += C[c]!;
    let levels = 1;
    while (1 << levels < sigma) levels++;
    const wm = WaveletMatrix.build(bwt, levels);
    const finalStart = wm.finalStarts(sigma, bwt);
    return new FmIndex({ docCount: docs.length, textLength: N, sampleRate, sigma, wm, C, finalStart, symbolToken, sampled, saSamples, isaSamples, docStarts });
  }

  /** The range of the empty pattern (every suffix). */
  root(): FmRange {
    return { sp: 0, ep: this.#p.textLength + 1, length: 0 };
  }

  /** Extends a match by one token on the right; an empty range when pattern+token never occurs. */
  extend(range: FmRange, token: number): FmRange {
    const c = this.#symbol(token);
    if (c < 0 || range.sp >= range.ep) return { sp: 0, ep: 0, length: range.length + 1 };
    return this.#extendSymbol(range, c);
  }

  #symbol(token: number): number {
    return Number.isInteger(token) && token >= 0 && token < this.#tokenSymbol.length ? this.#tokenSymbol[token]! : -1;
  }

  #extendSymbol(range: FmRange, c: number): FmRange {
    const out = this.#tmp;
    this.#p.wm.mapRange(c, range.sp, range.ep, out);
    if (out[0] === out[1]) return { sp: 0, ep: 0, length: range.length + 1 };
    const base = this.#p.C[c]! - this.#p.finalStart[c]!;
    return { sp: base + out[0]!, ep: base + out[1]!, length: range.length + 1 };
  }

  /** The match range of a whole pattern (empty when it does not occur). */
  find(pattern: ArrayLike<number>): FmRange {
    const p = this.#p;
    const out = this.#tmp;
    let sp = 0;
    let ep = p.textLength + 1;
    for (let i = 0; i < pattern.length; i++) {
      const c = this.#symbol(pattern[i]!);
      if (c < 0) return { sp: 0, ep: 0, length: pattern.length };
      p.wm.mapRange(c, sp, ep, out);
      if (out[0] === out[1]) return { sp: 0, ep: 0, length: pattern.length };
      const base = p.C[c]! - p.finalStart[c]!;
      sp = base + out[0]!;
      ep = base + out[1]!;
    }
    return { sp, ep, length: pattern.length };
  }

  /** Number of occurrences of the pattern (the empty pattern counts every token position). */
  count(pattern: ArrayLike<number>): number {
    if (pattern.length === 0) return this.tokenCount;
    const r = this.find(pattern);
    return r.ep - r.sp;
  }

  /** Distinct tokens that follow the pattern somewhere, with counts, in token-id order. */
  successors(range: FmRange): Successor[] {
    const out: Successor[] = [];
    if (range.sp >= range.ep) return out;
    const p = this.#p;
    p.wm.distinct(range.sp, range.ep, (c, a, b) => {
      if (c < FIRST_TOKEN_SYMBOL) return; // end of a document
      const base = p.C[c]! - p.finalStart[c]!;
      out.push({ token: p.symbolToken[c]!, count: b - a, range: { sp: base + a, ep: base + b, length: range.length + 1 } });
    });
    return out.sort((x, y) => x.token - y.token);
  }

  /** Successor tokens of a pattern given as tokens. */
  successorsOf(pattern: ArrayLike<number>): Successor[] {
    return this.successors(pattern.length === 0 ? this.root() : this.find(pattern));
  }

  /** LF-mapping: row of the suffix one position earlier in the reversed text; returns [row, symbol]. */
  #lf(row: number): number {
    const p = this.#p;
    p.wm.accessFinal(row, this.#tmp);
    const c = this.#tmp[0]!;
    return p.C[c]! + this.#tmp[1]! - p.finalStart[c]!;
  }

  /** Reversed-text position of the suffix at `row`. */
  #saAt(row: number): number {
    const p = this.#p;
    let steps = 0;
    while (getBit(p.sampled, row) === 0) {
      row = this.#lf(row);
      steps++;
    }
    return p.saSamples[rank1(p.sampled, row)]! + steps;
  }

  /**
   * Document of every suffix-array row, computed once (lazily) by one LF walk over the whole
   * text: O(n log sigma) time, 2 or 4 bytes per token, kept in memory only (not part of the
   * saved index). With it, the documents of a range's occurrences cost O(1) each instead of a locate.
   */
  documentArray(): Uint16Array | Int32Array {
    if (this.#docArray) return this.#docArray;
    const p = this.#p;
    const N = p.textLength;
    const da = this.docCount <= 0xffff ? new Uint16Array(N + 1) : new Int32Array(N + 1);
    let row = 0; // the suffix "$" at reversed position N
    let doc = 0;
    for (let pos = 0; pos < N; pos++) {
      // Row of reversed position N-1-pos, i.e. the suffix ending (in T) at position pos.
      row = this.#lf(row);
      while (doc + 1 < this.docCount && p.docStarts[doc + 1]! <= pos) doc++;
      da[row] = doc;
    }
    this.#docArray = da;
    return da;
  }

  /** Documents of the occurrences in a matched range (with repeats, in row order); see `documentArray`. */
  documentsOf(range: FmRange): Uint16Array | Int32Array {
    return this.documentArray().slice(range.sp, Math.max(range.sp, range.ep));
  }

  /** Every occurrence of a matched range (at most `limit`), as (doc, offset), in text order. */
  locate(range: FmRange, limit = Infinity): Occurrence[] {
    const out: Occurrence[] = [];
    const N = this.#p.textLength;
    const end = Math.min(range.ep, range.sp + limit);
    for (let row = range.sp; row < end; row++) {
      const k = this.#saAt(row);
      const position = N - k - range.length;
      const doc = this.docOf(position);
      out.push({ doc, offset: position - this.#p.docStarts[doc]!, position });
    }
    return out.sort((a, b) => a.position - b.position);
  }

  /** Occurrences of a token pattern (empty pattern: none). */
  locatePattern(pattern: ArrayLike<number>, limit = Infinity): Occurrence[] {
    if (pattern.length === 0) return [];
    return this.locate(this.find(pattern), limit);
  }

  /** Document holding global text position `position`. */
  docOf(position: number): number {
    const starts = this.#p.docStarts;
    let lo = 0,
      hi = this.docCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Number of tokens of document `doc`. */
  docLength(doc: number): number {
    this.#checkDoc(doc);
    return this.#p.docStarts[doc + 1]! - this.#p.docStarts[doc]! - 1;
  }

  /** Tokens doc[offset, offset + length) (clipped at the document's end), read from the index itself. */
  extract(doc: number, offset: number, length: number): Int32Array {
    this.#checkDoc(doc);
    const docLen = this.docLength(doc);
    if (!Number.isInteger(offset) || offset < 0) throw new InputError(`extract: offset must be a non-negative integer, got ${offset}.`);
    const len = Math.max(0, Math.min(length, docLen - offset));
    const out = new Int32Array(len);
    if (len === 0) return out;
    const p = this.#p;
    const N = p.textLength;
    const start = p.docStarts[doc]! + offset;
    // Walking LF from the suffix at reversed position k emits T[N-k], T[N-k+1], ...
    const k = N - start;
    const sampleIdx = Math.ceil(k / p.sampleRate);
    let row: number;
    let at: number;
    if (sampleIdx * p.sampleRate >= N) {
      row = 0;
      at = N;
    } else {
      row = p.isaSamples[sampleIdx]!;
      at = sampleIdx * p.sampleRate;
    }
    for (; at > k; at--) row = this.#lf(row);
    for (let i = 0; i < len; i++) {
      p.wm.accessFinal(row, this.#tmp);
      const c = this.#tmp[0]!;
      out[i] = p.symbolToken[c]!;
      row = p.C[c]! + this.#tmp[1]! - p.finalStart[c]!;
    }
    return out;
  }

  /** A whole document's tokens. */
  document(doc: number): Int32Array {
    return this.extract(doc, 0, this.docLength(doc));
  }

  #checkDoc(doc: number): void {
    if (!Number.isInteger(doc) || doc < 0 || doc >= this.docCount) throw new InputError(`Document number ${doc} is out of range (the index holds ${this.docCount} documents).`);
  }

  /** Bytes of the in-memory structures (what `save` writes, minus the manifest). */
  get byteLength(): number {
    const p = this.#p;
    return p.wm.byteLength + p.C.byteLength + p.finalStart.byteLength + p.symbolToken.byteLength + p.sampled.byteLength + p.saSamples.byteLength + p.isaSamples.byteLength + p.docStarts.byteLength;
  }

  get sampleRate(): number {
    return this.#p.sampleRate;
  }

  /** Writes the index files into `dir` (no manifest; see `save`). */
  async writeFiles(dir: string, prefix = 'fm'): Promise<Record<string, unknown>> {
    const p = this.#p;
    const arrays: [string, ArrayBufferView][] = [
      ['wm', p.wm.bits],
      ['zeros', p.wm.zeros],
      ['C', p.C],
      ['final', p.finalStart],
      ['symbols', p.symbolToken],
      ['sampled', p.sampled],
      ['sa', p.saSamples],
      ['isa', p.isaSamples],
      ['docs', p.docStarts],
    ];
    for (const [name, a] of arrays) await writeFile(join(dir, `${prefix}.${name}.bin`), bytesOf(a));
    return { docCount: p.docCount, textLength: p.textLength, sampleRate: p.sampleRate, sigma: p.sigma, levels: p.wm.levels };
  }

  /** Reads what `writeFiles` wrote (checksums are the caller's manifest's job). */
  static async readFiles(dir: string, meta: Record<string, unknown>, prefix = 'fm'): Promise<FmIndex> {
    const num = (k: string): number => {
      const v = meta[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new IndexCorruptError(`FM-index metadata "${k}" is missing or invalid`, dir);
      return v;
    };
    const read = async <T extends Int32Array | Int32Array>(name: string, ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): Promise<T> =>
      readTyped(new Uint8Array(await readFile(join(dir, `${prefix}.${name}.bin`))), ctor, join(dir, `${prefix}.${name}.bin`));
    const docCount = num('docCount'),
      textLength = num('textLength'),
      sampleRate = num('sampleRate'),
      sigma = num('sigma'),
      levels = num('levels');
    const n = textLength + 1;
    const bits = await read('wm', Int32Array);
    const zeros = await read('zeros', Int32Array);
    const parts: FmParts = {
      docCount,
      textLength,
      sampleRate,
      sigma,
      wm: new WaveletMatrix({ n, levels, bits, zeros }),
      C: await read('C', Int32Array),
      finalStart: await read('final', Int32Array),
      symbolToken: await read('symbols', Int32Array),
      sampled: await read('sampled', Int32Array),
      saSamples: await read('sa', Int32Array),
      isaSamples: await read('isa', Int32Array),
      docStarts: await read('docs', Int32Array),
    };
    const ok =
      bits.length === bitvectorLength(n) * levels &&
      zeros.length === levels &&
      parts.C.length === sigma + 1 &&
      parts.finalStart.length === sigma &&
      parts.symbolToken.length === sigma &&
      parts.docStarts.length === docCount + 1 &&
      parts.sampled.length === bitvectorLength(n) &&
      parts.isaSamples.length === Math.floor(textLength / sampleRate) + 2;
    if (!ok) throw new IndexCorruptError('FM-index arrays do not match their metadata sizes', dir);
    return new FmIndex(parts);
  }

  /** Saves to a checksummed index folder (core's saveIndexDir: atomic). */
  async save(dir: string): Promise<void> {
    let meta: Record<string, unknown> = {};
    await saveIndexDir(dir, { format: FM_INDEX_FORMAT, version: FM_INDEX_VERSION, meta: {} }, async (tmp) => {
      meta = await this.writeFiles(tmp);
      await writeFile(join(tmp, 'fm.json'), JSON.stringify(meta));
    });
  }

  static async load(dir: string): Promise<FmIndex> {
    await openIndexDir(dir, FM_INDEX_FORMAT, [FM_INDEX_VERSION]);
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(await readFile(join(dir, 'fm.json'), 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new IndexCorruptError(`fm.json unreadable (${(error as Error).message})`, dir);
    }
    return FmIndex.readFiles(dir, meta);
  }
}
