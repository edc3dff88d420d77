import { describe, expect, it } from 'vitest';
import { SpanCache } from '../src/span-cache.js';
import { hashSpan } from '../src/tokenizer.js';

describe('SpanCache', () => {
  it('finds spans by content, not by position', () => {
    const cache = new SpanCache<number>(100);
    const text = 'gene cell gene';
    cache.add('gene', hashSpan(text, 0, 4), 1);
    expect(cache.find(text, 10, 14, hashSpan(text, 10, 14))).toBe(0);
    expect(cache.value(0)).toBe(1);
    expect(cache.find(text, 5, 9, hashSpan(text, 5, 9))).toBe(-1);
  });

  it('survives growth and hash collisions', () => {
    const cache = new SpanCache<string>(1 << 20);
    const words = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}`);
    // Same hash for every key: probing must still compare content.
    for (const w of words.slice(0, 50)) cache.add(w, 7, w.toUpperCase());
    for (const w of words.slice(50)) cache.add(w, hashSpan(w, 0, w.length), w.toUpperCase());
    for (const [i, w] of words.entries()) {
      const entry = cache.find(w, 0, w.length, i < 50 ? 7 : hashSpan(w, 0, w.length));
      expect(cache.value(entry)).toBe(w.toUpperCase());
    }
  });

  it('starts over when full, bounding memory', () => {
    const cache = new SpanCache<number>(3);
    for (const [i, w] of ['a', 'b', 'c', 'd'].entries()) cache.add(w, hashSpan(w, 0, 1), i);
    expect(cache.size).toBe(1);
    expect(cache.find('a', 0, 1, hashSpan('a', 0, 1))).toBe(-1);
    expect(cache.value(cache.find('d', 0, 1, hashSpan('d', 0, 1)))).toBe(3);
  });
});
