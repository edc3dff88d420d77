import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../src/index.js';
import { bertNormalize, isBertCjk, rustLowercase } from '../src/tokenizer-parity.js';
import { FIXTURES } from './helpers.js';

// Reference ids written by the Rust `tokenizers` library (tools/reference/build_fixtures.py) for the
// tricky-string corpus (tools/reference/tricky-strings.json): with and without special tokens, and
// truncated to 16 ids, for WordPiece (BertNormalizer and NFC/NFD/NFKC/Lowercase/StripAccents sequences),
// Unigram (XLM-R shaped: NFKC + Metaspace) and byte-level BPE (RoBERTa shaped) tokenizer.json files.
const REF_DIR = join(FIXTURES, 'reference');
const ref = JSON.parse(readFileSync(join(REF_DIR, 'tokenizers', 'reference.json'), 'utf8')) as {
  strings: string[];
  tokenizers: Record<string, { file: string; ids: number[][]; bare: number[][]; truncated16: number[][] }>;
};

describe('token ids equal the Rust tokenizers library on the tricky-string corpus', () => {
  it('covers every kind of tokenizer and string the issue names', () => {
    expect(Object.keys(ref.tokenizers).sort()).toEqual([
      'bert-base-uncased',
      'bpe-bytelevel',
      'unigram',
      'wordpiece-cased',
      'wordpiece-nfc',
      'wordpiece-nfd-lower-strip',
      'wordpiece-nfkc-lower',
      'wordpiece-uncased',
    ]);
    expect(ref.strings.length).toBeGreaterThanOrEqual(40);
  });

  for (const [name, t] of Object.entries(ref.tokenizers)) {
    for (const fast of [true, false]) {
      it(`${name} (${fast ? 'fast path where it applies' : 'library path'}): ids, bare ids and truncation`, () => {
        const tok = TextTokenizer.fromDir(dirname(join(REF_DIR, t.file)), { fast });
        if (fast && (name.startsWith('wordpiece-uncased') || name === 'wordpiece-cased' || name === 'bert-base-uncased')) expect(tok.fast).toBe(true);
        ref.strings.forEach((s, i) => {
          expect({ i, s, ids: Array.from(tok.encode(s)) }).toEqual({ i, s, ids: t.ids[i] });
          expect({ i, s, ids: Array.from(tok.encode(s, { addSpecialTokens: false })) }).toEqual({ i, s, ids: t.bare[i] });
          expect({ i, s, ids: Array.from(tok.encode(s, { maxLength: 16 })) }).toEqual({ i, s, ids: t.truncated16[i] });
        });
      });
    }
  }
});

describe('the Rust behaviours behind the fixes', () => {
  it('lowercases per character: Σ is always σ (JavaScript makes a word-final Σ into ς)', () => {
    expect('ΟΔΟΣ'.toLowerCase()).toBe('οδος');
    expect(rustLowercase('ΟΔΟΣ ΑΣ.')).toBe('οδοσ ασ.');
    expect(bertNormalize('ΟΔΟΣ', { lowercase: true })).toBe('οδοσ');
  });

  it('treats the astral ideograph blocks as CJK, with the Rust table boundaries', () => {
    expect(isBertCjk(0x20000)).toBe(true);
    expect(isBertCjk(0x2a6a5)).toBe(true);
    expect(isBertCjk(0x2f800)).toBe(true);
    expect(isBertCjk(0x2b820)).toBe(false);
    expect(isBertCjk(0x2ceb0)).toBe(false);
    expect(isBertCjk(0x30000)).toBe(false);
    expect(bertNormalize('a\u{20000}b', { handle_chinese_chars: true })).toBe('a \u{20000} b');
  });
});
