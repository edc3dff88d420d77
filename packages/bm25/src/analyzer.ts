import { InputError } from '@quarry/core';
import { porterStem } from './porter.js';
import { ENGLISH_STOP_WORDS } from './stopwords.js';
import { SpanCache } from './span-cache.js';
import { forEachTokenSpan } from './tokenizer.js';

/** Turns text into index terms. Documents and queries go through the same analyzer. */
export interface Analyzer {
  /** Saved with an index so `load` can restore it; custom analyzers must be passed back to `load`. */
  readonly name?: string;
  analyze(text: string): string[];
}

/** Names of the analyzers this package ships. */
export type AnalyzerName = 'english' | 'simple';

export interface EnglishAnalyzerOptions {
  /** Words dropped after lowercasing (default: Lucene's 33 English stop words). */
  stopWords?: Iterable<string>;
  /** Apply Porter stemming (default true). */
  stem?: boolean;
}

const MAX_CACHED = 1 << 20;

/**
 * Lucene's EnglishAnalyzer as Anserini configures it (`DefaultEnglishAnalyzer`):
 * StandardTokenizer -> EnglishPossessiveFilter -> LowerCaseFilter -> StopFilter ->
 * PorterStemFilter. Text has far fewer distinct surface forms than tokens, so the
 * chain after the tokenizer runs once per surface form (cached, bounded).
 */
export class EnglishAnalyzer implements Analyzer {
  readonly name: string;
  readonly #stopWords: ReadonlySet<string>;
  readonly #stem: boolean;
  /** Surface form -> term, or null for a stop word. */
  readonly #cache = new SpanCache<string | null>(MAX_CACHED);

  constructor(options: EnglishAnalyzerOptions = {}) {
    this.#stopWords = new Set(options.stopWords ?? ENGLISH_STOP_WORDS);
    this.#stem = options.stem ?? true;
    const custom = options.stopWords !== undefined || options.stem === false;
    // Only the default configuration may be restored by name.
    this.name = custom ? 'english-custom' : 'english';
  }

  analyze(text: string): string[] {
    const out: string[] = [];
    const cache = this.#cache;
    // The tokenizer hashes each token while scanning, so known surface forms are found
    // without cutting them out of the text.
    forEachTokenSpan(text, (start, end, hash) => {
      const entry = cache.find(text, start, end, hash);
      let term: string | null;
      if (entry >= 0) term = cache.value(entry);
      else {
        const token = text.slice(start, end);
        term = this.#term(token);
        cache.add(token, hash, term);
      }
      if (term !== null) out.push(term);
    });
    return out;
  }

  #term(token: string): string | null {
    const lower = javaLowerCase(stripPossessive(token));
    if (this.#stopWords.has(lower)) return null;
    return this.#stem ? porterStem(lower) : lower;
  }
}

/** Lowercased runs of letters, digits and marks; no stop words, no stemming. */
export class SimpleAnalyzer implements Analyzer {
  readonly name = 'simple';

  analyze(text: string): string[] {
    const out: string[] = [];
    for (const m of text.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) out.push(javaLowerCase(m[0]));
    return out;
  }
}

/** Builds one of the shipped analyzers by name. */
export function createAnalyzer(name: AnalyzerName): Analyzer {
  if (name === 'english') return new EnglishAnalyzer();
  if (name === 'simple') return new SimpleAnalyzer();
  throw new InputError(`Unknown analyzer "${String(name)}". Use "english" or "simple", or pass an object with analyze(text).`, { analyzer: name });
}

/** EnglishPossessiveFilter: drops a trailing `'s` (also with ’ or ＇). */
function stripPossessive(token: string): string {
  const n = token.length;
  if (n >= 2) {
    const last = token.charCodeAt(n - 1);
    const quote = token.charCodeAt(n - 2);
    if ((last === 0x73 || last === 0x53) && (quote === 0x27 || quote === 0x2019 || quote === 0xff07)) return token.slice(0, n - 2);
  }
  return token;
}

/**
 * Java's per-character `Character.toLowerCase` (what LowerCaseFilter applies), which
 * differs from `String#toLowerCase` on `İ` (-> `i`, not `i̇`) and on final sigma.
 */
function javaLowerCase(token: string): string {
  let ascii = true;
  for (let i = 0; i < token.length; i++) {
    if (token.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return token.toLowerCase();
  let out = '';
  for (const ch of token) out += ch === '\u0130' ? 'i' : ch.toLowerCase();
  return out;
}
