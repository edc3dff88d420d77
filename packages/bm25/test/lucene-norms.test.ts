import { describe, expect, it } from 'vitest';
import { LENGTH_TABLE, byte4ToInt, intToByte4, luceneLength } from '../src/index.js';
import { REF_NUM_FREE_VALUES as REF_FREE, refByte4ToInt, refIntToByte4 } from './reference.js';

// refIntToByte4 / refByte4ToInt: Lucene's SmallFloat transcribed independently from the Java source (see reference.ts).

describe('SmallFloat.intToByte4 / byte4ToInt', () => {
  it('has 24 exact small values, like Lucene 8+', () => expect(REF_FREE).toBe(24));

  it('stores lengths 0..40 exactly', () => {
    for (let i = 0; i <= 40; i++) {
      expect(intToByte4(i)).toBe(i);
      expect(byte4ToInt(intToByte4(i))).toBe(i);
    }
  });

  it('rounds larger lengths down to 4 significant bits', () => {
    // Worked by hand from the Java source: 41-24 = 17 = 0b10001 keeps 0b1000x -> 16 -> 40.
    const known: [number, number, number][] = [
      // [length, byte, decoded length]
      // 100 - 24 = 76 = 0b1001100: shift 3, mantissa 0b1001 -> byte 24 + (4 << 3 | 1) = 57 -> 24 + (9 << 3) = 96.
      [41, 40, 40],
      [42, 41, 42],
      [43, 41, 42],
      [56, 48, 56],
      [57, 48, 56],
      [100, 57, 96],
      [161, 64, 152],
      [1000, 87, 984],
      [1024, 87, 984],
      [65536, 135, 61464],
      [2147483647, 255, 2013265944],
    ];
    for (const [length, byte, decoded] of known) {
      expect(intToByte4(length)).toBe(byte);
      expect(luceneLength(length)).toBe(decoded);
      expect(refIntToByte4(length)).toBe(byte);
      expect(refByte4ToInt(byte)).toBe(decoded);
    }
  });

  it('matches the reference transcription on every length up to 100k and on random large ones', () => {
    for (let i = 0; i <= 100_000; i++) if (intToByte4(i) !== refIntToByte4(i)) expect(intToByte4(i)).toBe(refIntToByte4(i));
    let x = 12345;
    for (let n = 0; n < 10_000; n++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const i = x >>> 1;
      expect(intToByte4(i)).toBe(refIntToByte4(i));
    }
  });

  it('satisfies Lucene’s TestSmallFloat.testByte4 properties', () => {
    const decoded = Array.from({ length: 256 }, (_, b) => byte4ToInt(b));
    for (let b = 0; b < 256; b++) {
      expect(intToByte4(decoded[b]!)).toBe(b);
      expect(decoded[b]).toBe(refByte4ToInt(b));
      if (b > 0) expect(decoded[b]!).toBeGreaterThan(decoded[b - 1]!);
    }
    expect(intToByte4(2147483647)).toBe(255);
    // Every length maps to the largest byte whose decoded length does not exceed it.
    for (const i of [25, 99, 1234, 77_777, 1 << 20, 123_456_789]) {
      let idx = 0;
      while (idx < 255 && decoded[idx + 1]! <= i) idx++;
      expect(intToByte4(i)).toBe(idx);
    }
  });

  it('exposes BM25Similarity.LENGTH_TABLE', () => {
    expect(LENGTH_TABLE).toHaveLength(256);
    expect(LENGTH_TABLE[40]).toBe(40);
    expect(LENGTH_TABLE[41]).toBe(42);
    expect(LENGTH_TABLE[255]).toBe(Math.fround(2013265944));
  });

  it('rejects negative and fractional lengths', () => {
    expect(() => intToByte4(-1)).toThrow(RangeError);
    expect(() => intToByte4(1.5)).toThrow(RangeError);
  });
});
