/**
 * The `Precompiled` normalizer of sentencepiece-derived tokenizer.json files (XLM-R, mBART, T5 ...):
 * sentencepiece's precompiled_charsmap, applied the way the Rust `tokenizers` library applies it.
 * tokenizers.js approximates it with NFKC plus a few replacements, which differs on many characters
 * (e.g. U+FF5E, controls, combining sequences), so Quarry reads the charsmap itself.
 *
 * The blob: uint32 (little-endian) byte size of a darts-clone double-array trie, the trie (uint32
 * units), then a pool of NUL-terminated UTF-8 strings; a trie key's value is an offset into the pool.
 * Rust (spm_precompiled) walks extended grapheme clusters: a cluster under 6 UTF-8 bytes whose bytes
 * start with a key is replaced whole by the SHORTEST such key's string (the rest of the cluster is
 * dropped); otherwise each character that is a key is replaced and the others are kept.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

function base64Bytes(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class PrecompiledCharsmap {
  readonly #units: Uint32Array;
  readonly #pool: Uint8Array;
  readonly #strings = new Map<number, string>();
  readonly #chars = new Map<string, string | null>();
  readonly #buf = new Uint8Array(64);
  readonly #ascii: string[];

  /** `charsmap`: the raw blob, or the base64 text tokenizer.json stores. */
  constructor(charsmap: Uint8Array | string) {
    const blob = typeof charsmap === 'string' ? base64Bytes(charsmap) : charsmap;
    if (blob.length < 4) throw new Error('Precompiled normalizer: precompiled_charsmap is empty; re-export the tokenizer.json from its sentencepiece model.');
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > blob.length || trieSize === 0) {
      throw new Error(`Precompiled normalizer: precompiled_charsmap is malformed (trie size ${trieSize} of a ${blob.length}-byte blob); re-export the tokenizer.json.`);
    }
    this.#units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.#units.length; i++) this.#units[i] = view.getUint32(4 + 4 * i, true);
    this.#pool = blob.subarray(4 + trieSize);
    this.#ascii = Array.from({ length: 128 }, (_, u) => this.transform(String.fromCharCode(u)) ?? String.fromCharCode(u));
  }

  /** Value of the shortest trie key that is a prefix of `bytes[0..len)`, or -1 (spm_precompiled's `results[0]`). */
  #firstPrefixValue(bytes: Uint8Array, len: number): number {
    const units = this.#units;
    let unit = units[0]!;
    let pos = offset(unit);
    for (let i = 0; i < len; i++) {
      const c = bytes[i]!;
      if (c === 0) break;
      pos ^= c;
      if (pos >= units.length) return -1;
      unit = units[pos]!;
      if ((unit & 0x800000ff) >>> 0 !== c) return -1; // label
      pos ^= offset(unit);
      if ((unit >>> 8) & 1) return units[pos]! & 0x7fffffff; // has_leaf: the leaf unit holds the value
    }
    return -1;
  }

  #poolString(index: number): string {
    let s = this.#strings.get(index);
    if (s === undefined) {
      let end = index;
      while (end < this.#pool.length && this.#pool[end] !== 0) end++;
      s = decoder.decode(this.#pool.subarray(index, end));
      this.#strings.set(index, s);
    }
    return s;
  }

  /** The replacement of `chunk` (a grapheme cluster or one character), or undefined when no key starts it. */
  transform(chunk: string): string | undefined {
    let bytes = this.#buf;
    let len: number;
    if (chunk.length * 3 <= bytes.length) len = encoder.encodeInto(chunk, bytes).written;
    else {
      bytes = encoder.encode(chunk);
      len = bytes.length;
    }
    const value = this.#firstPrefixValue(bytes, len);
    return value < 0 ? undefined : this.#poolString(value);
  }

  #transformChar(c: string): string | null {
    let out = this.#chars.get(c);
    if (out === undefined) {
      out = this.transform(c) ?? null;
      if (this.#chars.size < 65536) this.#chars.set(c, out);
    }
    return out;
  }

  /** Rust `tokenizers`' Precompiled normalizer. */
  normalize(text: string): string {
    // Most text is ASCII: an ASCII character (not CR) between ASCII neighbours is a cluster of its own,
    // so it is looked up in a table; the other spans go through grapheme segmentation.
    const ascii = this.#ascii;
    let out = '';
    let slowStart = -1;
    for (let i = 0; i < text.length; i++) {
      const u = text.charCodeAt(i);
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
      if (u < 0x80 && u !== 0x0d && next < 0x80 && prev < 0x80 && prev !== 0x0d) {
        if (slowStart >= 0) {
          out += this.#normalizeClusters(text.slice(slowStart, i));
          slowStart = -1;
        }
        out += ascii[u]!;
      } else if (slowStart < 0) slowStart = i;
    }
    if (slowStart >= 0) out += this.#normalizeClusters(text.slice(slowStart));
    return out;
  }

  #normalizeClusters(text: string): string {
    let out = '';
    for (const { segment } of graphemes.segment(text)) {
      if (utf8Length(segment) < 6) {
        const whole = segment.length === 1 || (segment.length === 2 && isPair(segment)) ? this.#transformChar(segment) : (this.transform(segment) ?? null);
        if (whole !== null) {
          out += whole;
          continue;
        }
      }
      for (const c of segment) {
        const norm = this.#transformChar(c);
        out += norm ?? (isLoneSurrogate(c) ? '\ufffd' : c);
      }
    }
    return out;
  }
}

/** darts-clone unit offset. */
function offset(unit: number): number {
  return (unit >>> 10) << ((unit & 0x200) >>> 6);
}

function isPair(s: string): boolean {
  const hi = s.charCodeAt(0);
  return hi >= 0xd800 && hi <= 0xdbff;
}

function isLoneSurrogate(c: string): boolean {
  if (c.length !== 1) return false;
  const u = c.charCodeAt(0);
  return u >= 0xd800 && u <= 0xdfff;
}

/** UTF-8 byte length (a lone surrogate counts as U+FFFD, 3 bytes, as TextEncoder writes it). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0x80) n += 1;
    else if (u < 0x800) n += 2;
    else if (u >= 0xd800 && u <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
