import { SeededRandom } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { answer, DrtModel, passkeyExample, crossesBoundary, passkeyTrial, DIGITS, KEY_DIGITS, KEY_TOKEN, QUERY_TOKEN, WRONG_KEY_TOKEN, type DrtConfig } from '../src/index.js';

const config: DrtConfig = { vocab: 32, dim: 8, heads: 2, window: 8, chunk: 15, overlap: 4, lookback: 3, groups: 2, relDim: 4, topK: 3, relValues: 1 };

describe('passkey generator', () => {
  it('places marker, five digits and the question deterministically, at uniform depth', () => {
    const a = passkeyTrial(1, 1000, 7);
    const b = passkeyTrial(1, 1000, 7);
    expect(a.tokens).toEqual(b.tokens);
    expect(passkeyTrial(2, 1000, 7).tokens).not.toEqual(a.tokens);
    expect(a.tokens[a.keyStart]).toBe(KEY_TOKEN);
    expect([...a.tokens.subarray(a.keyStart + 1, a.keyStart + 6)]).toEqual([...a.key]);
    expect(a.tokens[999]).toBe(QUERY_TOKEN);
    expect(a.tokens.filter((t) => t === KEY_TOKEN)).toHaveLength(1);
    let crossing = 0;
    const depths: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const ex = passkeyTrial(3, 630, i);
      depths.push(ex.keyStart);
      if (crossesBoundary(ex.keyStart, 63)) crossing++;
    }
    // 5 of every 63 start positions cross a boundary (~8%).
    expect(crossing / 2000).toBeGreaterThan(0.06);
    expect(crossing / 2000).toBeLessThan(0.1);
    expect(Math.min(...depths)).toBeLessThan(20);
    expect(Math.max(...depths)).toBeGreaterThan(600);
    expect(() => passkeyExample(new SeededRandom(1), 5)).toThrow(/>= 7/);
  });

  it('adds distractors around the same key: unmarked decoy runs, marked decoys, digits in the filler', () => {
    const isDigit = (t: number): boolean => t < DIGITS;
    for (let i = 0; i < 20; i++) {
      const plain = passkeyTrial(4, 3000, i);
      const decoys = passkeyTrial(4, 3000, i, 'decoys');
      const marked = passkeyTrial(4, 3000, i, 'marked');
      const digits = passkeyTrial(4, 3000, i, 'digits');
      for (const ex of [decoys, marked, digits]) {
        // Paired: the key, its depth and the question do not move, and the key marker stays unique.
        expect(ex.keyStart).toBe(plain.keyStart);
        expect(ex.key).toEqual(plain.key);
        expect([...ex.tokens.subarray(ex.keyStart + 1, ex.keyStart + 1 + KEY_DIGITS)]).toEqual([...plain.key]);
        expect(ex.tokens.filter((t) => t === KEY_TOKEN)).toHaveLength(1);
        expect(ex.tokens[2999]).toBe(QUERY_TOKEN);
      }
      expect(decoys.decoyStarts).toHaveLength(20);
      for (const start of decoys.decoyStarts) {
        // Five digits with a non-digit on either side (runs never touch the key or each other).
        expect([...decoys.tokens.subarray(start, start + KEY_DIGITS)].every(isDigit)).toBe(true);
        expect(isDigit(decoys.tokens[start - 1] ?? 99)).toBe(false);
        expect(isDigit(decoys.tokens[start + KEY_DIGITS]!)).toBe(false);
        expect(decoys.tokens[start - 1]).not.toBe(KEY_TOKEN);
      }
      expect(marked.decoyStarts).toHaveLength(20);
      for (const start of marked.decoyStarts) {
        expect(marked.tokens[start]).toBe(WRONG_KEY_TOKEN);
        expect([...marked.tokens.subarray(start + 1, start + 1 + KEY_DIGITS)].every(isDigit)).toBe(true);
      }
      expect(plain.tokens.filter(isDigit)).toHaveLength(KEY_DIGITS);
      expect(plain.tokens.includes(WRONG_KEY_TOKEN)).toBe(false);
      // 5% of ~2,994 filler tokens: about 150 digits besides the key's.
      const extra = digits.tokens.filter(isDigit).length - KEY_DIGITS;
      expect(extra).toBeGreaterThan(100);
      expect(extra).toBeLessThan(200);
      let changed = 0;
      for (let t = 0; t < 3000; t++) if (digits.tokens[t] !== plain.tokens[t]) changed++;
      expect(changed).toBeLessThanOrEqual(extra);
    }
    expect(() => passkeyTrial(1, 100, 0, 'decoys')).toThrow(/no room/);
    expect(() => passkeyTrial(1, 1000, 0, 'bogus' as never)).toThrow(/Unknown passkey task/);
    expect(() => passkeyExample(new SeededRandom(1), 100, { digitRate: 0.9 })).toThrow(/digitRate/);
  });
});

describe('answer-only decoding', () => {
  const model = DrtModel.init(config, 4);
  it('decodes what the full model predicts at every answer position (same retrieval, same argmax)', () => {
    for (const seed of [1, 2, 3, 4]) {
      const ex = passkeyExample(new SeededRandom(seed), 200 + seed * 37);
      const r = answer(model, ex.tokens);
      const tokens = new Uint8Array(ex.tokens.length + 4);
      tokens.set(ex.tokens);
      tokens.set(r.tokens.subarray(0, 4), ex.tokens.length);
      const full = model.sequenceGrad(tokens, r.tokens, new Float32Array(model.params.length), model.newTableGrad());
      expect(full.correct).toBe(5);
      expect([...full.retrievals[0]!.chunks]).toEqual(r.retrieved);
    }
  });

  it('the unrolled 8-wide forward kernel agrees with the training path too', () => {
    for (const relValues of [0, 1]) {
      const m8 = DrtModel.init({ ...config, dim: 16, heads: 2, relValues }, 6);
      const ex = passkeyExample(new SeededRandom(11), 333);
      const r = answer(m8, ex.tokens);
      const tokens = new Uint8Array(ex.tokens.length + 4);
      tokens.set(ex.tokens);
      tokens.set(r.tokens.subarray(0, 4), ex.tokens.length);
      expect(m8.sequenceGrad(tokens, r.tokens, new Float32Array(m8.params.length), m8.newTableGrad()).correct).toBe(5);
    }
  });

  it('without GCA reads no memory', () => {
    const ex = passkeyExample(new SeededRandom(9), 300);
    const r = answer(model, ex.tokens, { gca: false });
    expect(r.chunks).toBe(0);
    expect(r.retrieved).toEqual([]);
  });
});
