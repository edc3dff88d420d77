/**
 * A fast path for BERT-style WordPiece tokenizers (BertNormalizer + BertPreTokenizer +
 * WordPiece), the layout of bert-base-uncased and its many descendants.
 *
 * It reproduces @huggingface/tokenizers (tokenizers.js) step for step: the same
 * clean-text rules, CJK padding, lowercasing, accent stripping, punctuation classes,
 * and greedy longest-match WordPiece. The speed comes from an ASCII fast lane, regular
 * expressions instead of per-character calls, and a cache of word -> ids. Texts that
 * contain an added token's literal content (e.g. "[SEP]") are left to the library,
 * which splits them out first. The test suite checks this path against the library on
 * the whole SciFact corpus and on random Unicode strings, and against the Rust library's ids
 * on the tricky-string corpus (where tokenizers.js and Rust differ, Rust wins: tokenizer-parity.ts).
 */
import { BERT_CJK_RE, rustLowercase } from './tokenizer-parity.js';

/** The parts of a tokenizer.json's BertNormalizer that change the output. */
export interface BertNormalizerConfig {
  cleanText: boolean;
  handleChineseChars: boolean;
  lowercase: boolean;
  /** `null` = follow `lowercase` (as in tokenizers.js: strip unless explicitly false when lowercasing). */
  stripAccents: boolean | null;
}

const PUNCT = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
// Whitespace is Unicode White_Space, as Rust's char::is_whitespace (JavaScript's \s differs on U+FEFF, U+0085).
const PRE_TOKENIZE_RE = new RegExp(`[^\\p{White_Space}${PUNCT}]+|[${PUNCT}]`, 'gu');
const CONTROL_RE = /[\0\uFFFD]|[^\P{Cc}\t\n\r]|\p{Cf}|\p{Co}|\p{Cs}/gu;
const WHITESPACE_RE = /\p{White_Space}/gu;
const MN_RE = /\p{Mn}/gu;
const NON_ASCII_RE = /[^\x00-\x7f]/;
const ASCII_CONTROL_RE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

function isAsciiPunct(c: number): boolean {
  return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

type Pieces = number | readonly number[];

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/**
 * word -> ids cache as an open-addressing table keyed by a range of a string and its FNV
 * hash, so the hot loop never slices a string for a word it has seen before.
 */
class WordTable {
  #mask: number;
  #hashes: Int32Array;
  #keys: (string | undefined)[];
  #values: Pieces[];
  #size = 0;

  constructor(
    readonly limit: number,
    bits = 14,
  ) {
    this.#mask = (1 << bits) - 1;
    this.#hashes = new Int32Array(1 << bits);
    this.#keys = new Array<string | undefined>(1 << bits);
    this.#values = new Array<Pieces>(1 << bits);
  }

  get(s: string, start: number, end: number, h: number): Pieces | undefined {
    const keys = this.#keys;
    const len = end - start;
    let i = h & this.#mask;
    for (;;) {
      const k = keys[i];
      if (k === undefined) return undefined;
      if (this.#hashes[i] === h && k.length === len) {
        let j = 0;
        while (j < len && k.charCodeAt(j) === s.charCodeAt(start + j)) j++;
        if (j === len) return this.#values[i];
      }
      i = (i + 1) & this.#mask;
    }
  }

  set(word: string, h: number, value: Pieces): void {
    if (this.#size >= this.limit) this.#reset(14);
    else if (2 * (this.#size + 1) > this.#mask + 1) this.#grow();
    let i = h & this.#mask;
    while (this.#keys[i] !== undefined) i = (i + 1) & this.#mask;
    this.#keys[i] = word;
    this.#hashes[i] = h;
    this.#values[i] = value;
    this.#size++;
  }

  #reset(bits: number): void {
    this.#mask = (1 << bits) - 1;
    this.#hashes = new Int32Array(1 << bits);
    this.#keys = new Array<string | undefined>(1 << bits);
    this.#values = new Array<Pieces>(1 << bits);
    this.#size = 0;
  }

  #grow(): void {
    const keys = this.#keys;
    const hashes = this.#hashes;
    const values = this.#values;
    this.#reset(Math.log2(this.#mask + 1) + 1);
    for (let i = 0; i < keys.length; i++) if (keys[i] !== undefined) this.set(keys[i]!, hashes[i]!, values[i]!);
  }
}

function hashRange(s: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

export class FastWordPiece {
  readonly #vocab: Map<string, number>;
  readonly #unkId: number;
  readonly #maxChars: number;
  readonly #prefix: string;
  readonly #norm: BertNormalizerConfig;
  readonly #addedContents: readonly string[];
  /** word -> its id (most words are one piece) or its ids. */
  readonly #cache: WordTable;
  /** Single-character punctuation -> id, looked up without the Map. */
  readonly #punct = new Int32Array(128).fill(-1);
  readonly #cacheLimit: number;

  constructor(options: {
    vocab: Map<string, number>;
    unkId: number;
    maxInputCharsPerWord: number;
    continuingSubwordPrefix: string;
    normalizer: BertNormalizerConfig;
    addedTokenContents: readonly string[];
    cacheLimit?: number;
  }) {
    this.#vocab = options.vocab;
    this.#unkId = options.unkId;
    this.#maxChars = options.maxInputCharsPerWord;
    this.#prefix = options.continuingSubwordPrefix;
    this.#norm = options.normalizer;
    this.#addedContents = options.addedTokenContents.filter((c) => c.length > 0);
    this.#cacheLimit = options.cacheLimit ?? 200_000;
    this.#cache = new WordTable(this.#cacheLimit);
    for (let c = 0x21; c < 0x7f; c++) {
      if (!isAsciiPunct(c)) continue;
      const ids = this.#wordPiece(String.fromCharCode(c));
      if (ids.length === 1) this.#punct[c] = ids[0]!;
    }
  }

  /**
   * Appends the ids of `text` (no special tokens) to `out`, stopping once `out` holds
   * `limit` ids. Returns false (and appends nothing) when the text needs the library
   * (it contains an added token's content).
   */
  encodeInto(text: string, out: number[], limit = Infinity): boolean {
    for (const content of this.#addedContents) if (text.includes(content)) return false;
    const norm = this.#norm;
    if (!NON_ASCII_RE.test(text)) {
      let s = text;
      if (norm.cleanText) s = s.replace(ASCII_CONTROL_RE, '');
      if (norm.lowercase) s = s.toLowerCase();
      this.#splitAscii(s, out, limit);
      return true;
    }
    let s = text;
    if (norm.cleanText) s = s.replace(CONTROL_RE, '').replace(WHITESPACE_RE, ' ');
    if (norm.handleChineseChars) s = s.replace(BERT_CJK_RE, ' $& ');
    // Rust's order: strip accents, then lowercase per character.
    if (norm.stripAccents ?? norm.lowercase) s = s.normalize('NFD').replace(MN_RE, '');
    if (norm.lowercase) s = rustLowercase(s);
    const words = s.match(PRE_TOKENIZE_RE);
    if (words) {
      for (const word of words) {
        if (out.length >= limit) break;
        this.#pushRange(word, 0, word.length, hashRange(word, 0, word.length), out, limit);
      }
    }
    return true;
  }

  #splitAscii(s: string, out: number[], limit: number): void {
    const n = s.length;
    let start = -1;
    let h = FNV_OFFSET;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12) {
        if (start >= 0) {
          this.#pushRange(s, start, i, h, out, limit);
          start = -1;
          if (out.length >= limit) return;
        }
      } else if (isAsciiPunct(c)) {
        if (start >= 0) {
          this.#pushRange(s, start, i, h, out, limit);
          start = -1;
        }
        if (out.length >= limit) return;
        const id = this.#punct[c]!;
        if (id >= 0) out.push(id);
        else this.#pushRange(s, i, i + 1, hashRange(s, i, i + 1), out, limit);
        if (out.length >= limit) return;
      } else {
        if (start < 0) {
          start = i;
          h = FNV_OFFSET;
        }
        h = Math.imul(h ^ c, FNV_PRIME);
      }
    }
    if (start >= 0) this.#pushRange(s, start, n, h, out, limit);
  }

  /** Pushes the ids of the word s[start..end) (hash h), from the cache or by WordPiece. */
  #pushRange(s: string, start: number, end: number, h: number, out: number[], limit: number): void {
    let ids = this.#cache.get(s, start, end, h);
    if (ids === undefined) {
      const word = start === 0 && end === s.length ? s : s.slice(start, end);
      const pieces = this.#wordPiece(word);
      ids = pieces.length === 1 ? pieces[0]! : pieces;
      this.#cache.set(word, h, ids);
    }
    if (typeof ids === 'number') out.push(ids);
    else for (let j = 0; j < ids.length && out.length < limit; j++) out.push(ids[j]!);
  }

  #wordPiece(word: string): readonly number[] {
    const direct = this.#vocab.get(word);
    if (direct !== undefined) return [direct];
    const chars = NON_ASCII_RE.test(word) ? Array.from(word) : null;
    const length = chars ? chars.length : word.length;
    if (length > this.#maxChars) return [this.#unkId];
    const piece = (a: number, b: number): string => (chars ? chars.slice(a, b).join('') : word.slice(a, b));
    const ids: number[] = [];
    let start = 0;
    while (start < length) {
      let end = length;
      let found = -1;
      while (start < end) {
        const sub = start > 0 ? this.#prefix + piece(start, end) : piece(start, end);
        const id = this.#vocab.get(sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) return [this.#unkId];
      ids.push(found);
      start = end;
    }
    return ids;
  }
}
