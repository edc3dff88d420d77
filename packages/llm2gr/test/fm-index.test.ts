import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FmIndex, suffixArray } from '../src/index.js';
import { NaiveSuffixArray, scanLocate, scanSuccessors } from './reference.js';
import { scifactTokens } from './scifact.js';

function naiveSA(text: Int32Array): Int32Array {
  const n = text.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => {
    while (a < n && b < n) {
      if (text[a] !== text[b]) return text[a]! - text[b]!;
      a++;
      b++;
    }
    return a < n ? 1 : -1;
  });
  return Int32Array.from(idx);
}

function check(fm: FmIndex, docs: number[][], pattern: number[]): void {
  const expected = scanLocate(docs, pattern);
  expect(fm.count(pattern)).toBe(pattern.length === 0 ? docs.reduce((s, d) => s + d.length, 0) : expected.length);
  expect(fm.locatePattern(pattern).map(({ doc, offset }) => ({ doc, offset }))).toEqual(expected);
  expect(fm.successorsOf(pattern).map((s) => [s.token, s.count])).toEqual(scanSuccessors(docs, pattern));
}

const docsArb = fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 40 }), { minLength: 1, maxLength: 8 });

describe('SA-IS', () => {
  it('matches a comparison sort on random texts (small and large alphabets, many repeats)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 300 }), fc.integer({ min: 1, max: 400 }), (body, scale) => {
        const text = Int32Array.from([...body.map((c) => ((c * scale) % 997) + 1), 0]);
        expect(Array.from(suffixArray(text, 999))).toEqual(Array.from(naiveSA(text)));
      }),
      { numRuns: 300 },
    );
  });
  it('handles periodic texts (deep recursion)', () => {
    const text = Int32Array.from([...Array.from({ length: 4000 }, (_, i) => (i % 3 === 2 ? 2 : 1)), 0]);
    expect(Array.from(suffixArray(text, 3))).toEqual(Array.from(naiveSA(text)));
  });
  it('rejects a text without a final unique sentinel', () => {
    expect(() => suffixArray(Int32Array.from([1, 2]), 3)).toThrow(/sentinel/);
    expect(() => suffixArray(Int32Array.from([1, 0, 2, 0]), 3)).toThrow(/outside/);
  });
});

describe('FmIndex against naive references', () => {
  it('count, locate and successors equal a substring scan on random documents', () => {
    fc.assert(
      fc.property(docsArb, fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 5 }), fc.integer({ min: 1, max: 9 }), (docs, pattern, rate) => {
        const fm = FmIndex.build(docs, { sampleRate: rate });
        check(fm, docs, pattern);
        // A pattern taken from the text always occurs.
        const d = docs.find((x) => x.length > 0);
        if (d) check(fm, docs, d.slice(0, 3));
      }),
      { numRuns: 400 },
    );
  });

  it('agrees with a naive suffix array, and extract returns every document verbatim', () => {
    fc.assert(
      fc.property(docsArb, fc.integer({ min: 1, max: 9 }), (docs, rate) => {
        const fm = FmIndex.build(docs, { sampleRate: rate });
        const naive = new NaiveSuffixArray(docs);
        for (const doc of docs) {
          for (let i = 0; i < doc.length; i++) {
            const p = doc.slice(i, i + 1 + (i % 4));
            expect(fm.count(p)).toBe(naive.count(p));
            expect(fm.locatePattern(p).map(({ doc: dd, offset }) => ({ doc: dd, offset }))).toEqual(naive.locate(p));
          }
        }
        docs.forEach((doc, d) => {
          expect(Array.from(fm.document(d))).toEqual(doc);
          if (doc.length > 2) expect(Array.from(fm.extract(d, 1, 2))).toEqual(doc.slice(1, 3));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('extends a match token by token exactly like find(), and successors give the extended ranges', () => {
    fc.assert(
      fc.property(docsArb, (docs) => {
        const fm = FmIndex.build(docs);
        let range = fm.root();
        const prefix: number[] = [];
        // Walk a path of successors: every step must occur, and its count must match the scan.
        for (let step = 0; step < 6; step++) {
          const succ = fm.successors(range);
          if (succ.length === 0) break;
          const pick = succ[step % succ.length]!;
          prefix.push(pick.token);
          expect(pick.range).toEqual(fm.extend(range, pick.token));
          expect(pick.count).toBe(scanLocate(docs, prefix).length);
          range = pick.range;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never matches across document boundaries, and patterns longer than any document count 0', () => {
    const docs = [
      [1, 2, 3],
      [4, 5],
      [3, 4],
    ];
    const fm = FmIndex.build(docs);
    expect(fm.count([3, 4])).toBe(1); // only inside doc 2, not across doc 0 -> doc 1
    expect(fm.locatePattern([3, 4])).toEqual([{ doc: 2, offset: 0, position: 7 }]);
    expect(fm.count([1, 2, 3, 4, 5])).toBe(0);
    expect(fm.count([99])).toBe(0); // a token the index never saw
    expect(fm.successorsOf([3]).map((s) => s.token)).toEqual([4]); // end of doc 0 is not a successor
    expect(fm.successorsOf([42, 1])).toEqual([]);
  });

  it('handles empty documents and an empty corpus', () => {
    const fm = FmIndex.build([[], [7, 7], []]);
    expect(fm.docLength(0)).toBe(0);
    expect(Array.from(fm.document(1))).toEqual([7, 7]);
    expect(fm.locatePattern([7])).toEqual([
      { doc: 1, offset: 0, position: 1 },
      { doc: 1, offset: 1, position: 2 },
    ]);
    const empty = FmIndex.build([]);
    expect(empty.count([1])).toBe(0);
    expect(empty.successorsOf([])).toEqual([]);
    expect(() => fm.extract(5, 0, 1)).toThrow(/out of range/);
    expect(() => FmIndex.build([[1, -2]])).toThrow(/non-negative/);
  });
});

describe('FmIndex on SciFact tokens', () => {
  it('agrees with the plain scan for patterns drawn from real documents', async () => {
    const docs = (await scifactTokens(400)).map((d) => Array.from(d));
    const fm = FmIndex.build(docs);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 16 }), (a, b, len) => {
        const doc = docs[a % docs.length]!;
        if (doc.length === 0) return;
        const start = b % doc.length;
        const pattern = doc.slice(start, start + len);
        check(fm, docs, pattern);
        expect(Array.from(fm.extract(a % docs.length, start, len))).toEqual(pattern);
      }),
      { numRuns: 150 },
    );
    // The most frequent token's successors add up to its count minus the document ends.
    const succ = fm.successorsOf([]);
    expect(succ.reduce((s, x) => s + x.count, 0)).toBe(fm.tokenCount);
  });
});

describe('FmIndex persistence', () => {
  it('saves and loads through a checksummed folder, and detects damage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fm-'));
    try {
      const docs = [[5, 6, 7, 5, 6], [6, 7], [9]];
      const fm = FmIndex.build(docs, { sampleRate: 2 });
      await fm.save(join(dir, 'idx'));
      const back = await FmIndex.load(join(dir, 'idx'));
      for (const p of [[5, 6], [6, 7], [9], [7, 5, 6]]) check(back, docs, p);
      expect(back.byteLength).toBe(fm.byteLength);
      await writeFile(join(dir, 'idx', 'fm.sa.bin'), new Uint8Array([1, 2, 3, 4]));
      await expect(FmIndex.load(join(dir, 'idx'))).rejects.toMatchObject({ code: 'INDEX_CORRUPT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('FmIndex document array', () => {
  it('gives the same documents as locate for every pattern range', () => {
    fc.assert(
      fc.property(docsArb, fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 3 }), (docs, pattern) => {
        const fm = FmIndex.build(docs, { sampleRate: 3 });
        const range = fm.find(pattern);
        expect(Array.from(fm.documentsOf(range)).sort((a, b) => a - b)).toEqual(
          fm
            .locate(range)
            .map((o) => o.doc)
            .sort((a, b) => a - b),
        );
      }),
      { numRuns: 300 },
    );
  });
});
