/**
 * Where tokenizers.js (@huggingface/tokenizers) and the Rust `tokenizers` library disagree,
 * Quarry follows Rust: the Python stack that trained and evaluates the models runs Rust.
 * This module holds the Rust behaviour and patches the library's normalizer and pre-tokenizer
 * objects in place. Each difference is pinned by the tricky-string corpus in
 * test/fixtures/reference/tokenizers (reference ids written by the Rust library).
 *
 * - Lowercasing is per character in Rust (`char::to_lowercase`): Σ always becomes σ, where
 *   JavaScript's `toLowerCase` turns a word-final Σ into ς.
 * - BERT's CJK test is per code point and includes the astral ideograph blocks; the library
 *   tested UTF-16 units, so U+20000.. ideographs were never padded with spaces.
 * - Whitespace is Unicode White_Space (Rust's `char::is_whitespace`), not JavaScript's `\s`
 *   (which adds U+FEFF and lacks U+0085); Rust regex `\w` is Unicode, not ASCII.
 * - Metaspace splits on the replacement character (`split: true`, Rust's default).
 * - Precompiled (sentencepiece charsmap) is read from the charsmap itself (precompiled-normalizer.ts);
 *   the library approximated it with NFKC.
 */
import {
  BertNormalizer,
  BertPreTokenizer,
  LowercaseNormalizer,
  MetaspacePreTokenizer,
  PrecompiledNormalizer,
  SequenceNormalizer,
  SequencePreTokenizer,
  WhitespacePreTokenizer,
  WhitespaceSplitPreTokenizer,
  type Tokenizer,
} from '@huggingface/tokenizers';
import { PrecompiledCharsmap } from './precompiled-normalizer.js';

/** Rust's `char::to_lowercase` applied to each character (no final-sigma context rule). */
export function rustLowercase(text: string): string {
  return text.replace(/\u03a3/g, '\u03c3').toLowerCase();
}

/** The code points Rust `tokenizers` (BertNormalizer / BasicTokenizer) treats as CJK ideographs. */
export function isBertCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** The same set as a regular expression (with the `u` flag, so astral characters match whole). */
export const BERT_CJK_RE = /[\u4e00-\u9fff\u3400-\u4dbf\u{20000}-\u{2a6df}\u{2a700}-\u{2b73f}\u{2b740}-\u{2b81f}\u{2b920}-\u{2ceaf}\uf900-\ufaff\u{2f800}-\u{2fa1f}]/gu;

/** BertNormalizer's clean_text: drop NUL, U+FFFD and "other" characters (Cc except \t\n\r, Cf, Co, Cs); White_Space -> ' '. */
const CLEAN_DROP_RE = /[\0\uFFFD]|[^\P{Cc}\t\n\r]|\p{Cf}|\p{Co}|\p{Cs}/gu;
const WHITE_SPACE_RE = /\p{White_Space}/gu;
const MN_RE = /\p{Mn}/gu;
const PUNCT = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const BERT_PRE_RE = new RegExp(`[^\\p{White_Space}${PUNCT}]+|[${PUNCT}]`, 'gu');
const RUST_WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const WHITESPACE_PRE_RE = new RegExp(`[${RUST_WORD}]+|[^${RUST_WORD}\\p{White_Space}]+`, 'gu');
const NON_WHITE_RE = /\P{White_Space}+/gu;

export interface BertNormalizerSettings {
  clean_text?: boolean;
  handle_chinese_chars?: boolean;
  lowercase?: boolean;
  strip_accents?: boolean | null;
}

/** Rust's BertNormalizer. */
export function bertNormalize(text: string, config: BertNormalizerSettings): string {
  let s = text;
  if (config.clean_text) s = s.replace(CLEAN_DROP_RE, '').replace(WHITE_SPACE_RE, ' ');
  if (config.handle_chinese_chars) s = s.replace(BERT_CJK_RE, ' $& ');
  const strip = config.strip_accents ?? config.lowercase === true;
  if (strip) s = s.normalize('NFD').replace(MN_RE, '');
  if (config.lowercase) s = rustLowercase(s);
  return s;
}

interface Patchable {
  config?: Record<string, unknown>;
  normalizers?: unknown[];
  tokenizers?: unknown[];
  normalize?: (text: string) => string;
  pre_tokenize_text?: (text: string, options?: { section_index?: number }) => string[];
}

function patchNormalizer(n: unknown): void {
  if (!n || (typeof n !== 'object' && typeof n !== 'function')) return; // the library's steps are callable objects
  const obj = n as Patchable;
  if (n instanceof SequenceNormalizer) for (const child of obj.normalizers ?? []) patchNormalizer(child);
  else if (n instanceof BertNormalizer) {
    const config = (obj.config ?? {}) as BertNormalizerSettings;
    obj.normalize = (text) => bertNormalize(text, config);
  } else if (n instanceof LowercaseNormalizer) obj.normalize = rustLowercase;
  else if (n instanceof PrecompiledNormalizer) {
    const charsmap = obj.config?.['precompiled_charsmap'];
    if (typeof charsmap !== 'string' || charsmap === '') return; // nothing to read: keep the library's approximation
    const map = new PrecompiledCharsmap(charsmap);
    obj.normalize = (text) => map.normalize(text);
  }
}

function patchPreTokenizer(p: unknown): void {
  if (!p || (typeof p !== 'object' && typeof p !== 'function')) return;
  const obj = p as Patchable & { replacement?: string; str_rep?: string; prepend_scheme?: string };
  if (p instanceof SequencePreTokenizer) for (const child of obj.tokenizers ?? []) patchPreTokenizer(child);
  else if (p instanceof BertPreTokenizer) obj.pre_tokenize_text = (text) => text.match(BERT_PRE_RE) ?? [];
  else if (p instanceof WhitespacePreTokenizer) obj.pre_tokenize_text = (text) => text.match(WHITESPACE_PRE_RE) ?? [];
  else if (p instanceof WhitespaceSplitPreTokenizer) obj.pre_tokenize_text = (text) => text.match(NON_WHITE_RE) ?? [];
  else if (p instanceof MetaspacePreTokenizer) {
    const split = obj.config?.['split'] !== false;
    const original = obj.pre_tokenize_text!.bind(p);
    if (split) {
      const rep = obj.replacement ?? '\u2581';
      obj.pre_tokenize_text = (text, options) => original(text, options).flatMap((piece) => splitMergedWithNext(piece, rep));
    }
  }
}

/** Splits before each `rep` (the delimiter starts the next piece), like Rust's MergedWithNext. */
function splitMergedWithNext(text: string, rep: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = text.indexOf(rep, 1); i > 0; i = text.indexOf(rep, i + rep.length)) {
    out.push(text.slice(start, i));
    start = i;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** Makes a loaded tokenizers.js Tokenizer normalise and pre-tokenise as Rust `tokenizers` does. */
export function applyRustParity(lib: Tokenizer): void {
  const t = lib as unknown as { normalizer?: unknown; pre_tokenizer?: unknown };
  patchNormalizer(t.normalizer);
  patchPreTokenizer(t.pre_tokenizer);
}
