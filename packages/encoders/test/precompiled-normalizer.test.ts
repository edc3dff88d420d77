import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../src/index.js';
import { PrecompiledCharsmap } from '../src/precompiled-normalizer.js';
import { FIXTURES } from './helpers.js';

// XLM-R shaped Unigram tokenizer.json whose normalizer is sentencepiece's precompiled_charsmap (nmt_nfkc)
// followed by Replace(' {2,}' -> ' '), as in real XLM-RoBERTa / jina-colbert-v2 files. Reference ids and
// normalized strings written by the Rust `tokenizers` library (tools/reference/xlmr_precompiled.py).
const DIR = join(FIXTURES, 'reference', 'tokenizers', 'xlmr-precompiled');
const ref = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as {
  strings: string[];
  normalized: string[];
  ids: number[][];
  bare: number[][];
  truncated16: number[][];
};

/** The Rust rule for one grapheme cluster, written out from `transform` alone (the oracle for the fast path). */
function rustCluster(map: PrecompiledCharsmap, cluster: string): string {
  const whole = new TextEncoder().encode(cluster).length < 6 ? map.transform(cluster) : undefined;
  if (whole !== undefined) return whole;
  return Array.from(cluster, (c) => map.transform(c) ?? (/^[\ud800-\udfff]$/.test(c) ? '\ufffd' : c)).join('');
}

describe('Precompiled (sentencepiece charsmap) normalizer equals the Rust tokenizers library', () => {
  it('uses a Precompiled normalizer and covers the tricky strings', () => {
    const json = JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8')) as { normalizer: { normalizers: { type: string }[] } };
    expect(json.normalizer.normalizers.map((n) => n.type)).toEqual(['Precompiled', 'Replace']);
    expect(ref.strings.length).toBeGreaterThanOrEqual(50);
  });

  it('normalizes every string exactly as Rust (charsmap, then Replace of runs of spaces)', () => {
    const json = JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8')) as { normalizer: { normalizers: { precompiled_charsmap: string }[] } };
    const map = new PrecompiledCharsmap(json.normalizer.normalizers[0]!.precompiled_charsmap);
    ref.strings.forEach((s, i) => {
      expect({ i, s, n: map.normalize(s).replace(/ {2,}/g, ' ') }).toEqual({ i, s, n: ref.normalized[i] });
    });
    // Rust's grapheme rule: a cluster under 6 UTF-8 bytes takes the shortest matching key and drops the rest;
    // 'ｶﾞ' (6 bytes) goes char by char, so it is カ + U+3099, not the composed ガ sentencepiece itself writes.
    expect(map.normalize('\ufb00\u0301 \u2460\u0301')).toBe('ff 1');
    expect(map.normalize('\uff76\uff9e')).toBe('\u30ab\u3099');
    // Whole short clusters compose; U+FF5E stays, as in sentencepiece's nmt_nfkc.
    expect(map.normalize('A\u030a e\u0301 \uff5e')).toBe('\u00c5 \u00e9 \uff5e');
  });

  it('the ASCII fast path splits text only at grapheme boundaries (same result as cluster by cluster)', () => {
    const json = JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8')) as { normalizer: { normalizers: { precompiled_charsmap: string }[] } };
    const map = new PrecompiledCharsmap(json.normalizer.normalizers[0]!.precompiled_charsmap);
    // ASCII, CR/LF, a Prepend mark, combining marks, ZWJ, VS16, keycap, emoji, full-width, half-width kana, a lone surrogate.
    const parts = ['a', 'Z', '1', ' ', '#', '\r', '\n', '\t', '\u0600', '\u0301', '\u0308', '\u200d', '\ufe0f', '\u20e3', '\u{1f469}', '\uff21', '\uff76', '\uff9e', '\ud800', '\u00ad'];
    const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    let seed = 7;
    const rand = (n: number) => {
      seed ^= seed << 13; // xorshift32
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    for (let k = 0; k < 400; k++) {
      let s = '';
      for (let j = rand(12); j >= 0; j--) s += parts[rand(parts.length)];
      const byCluster = Array.from(segmenter.segment(s), (g) => rustCluster(map, g.segment)).join('');
      expect({ s, n: map.normalize(s) }).toEqual({ s, n: byCluster });
    }
  });

  it('rejects a malformed charsmap with a message that says to re-export', () => {
    expect(() => new PrecompiledCharsmap(new Uint8Array([1, 0]))).toThrow(/re-export/);
    expect(() => new PrecompiledCharsmap(new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/malformed/);
  });

  for (const fast of [true, false]) {
    it(`xlmr-precompiled (${fast ? 'fast path where it applies' : 'library path'}): ids, bare ids and truncation`, () => {
      const tok = TextTokenizer.fromDir(DIR, { fast });
      ref.strings.forEach((s, i) => {
        expect({ i, s, ids: Array.from(tok.encode(s)) }).toEqual({ i, s, ids: ref.ids[i] });
        expect({ i, s, ids: Array.from(tok.encode(s, { addSpecialTokens: false })) }).toEqual({ i, s, ids: ref.bare[i] });
        expect({ i, s, ids: Array.from(tok.encode(s, { maxLength: 16 })) }).toEqual({ i, s, ids: ref.truncated16[i] });
      });
    });
  }
});
