import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenTrie } from '../src/index.js';

const titlesArb = fc.array(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }), { maxLength: 30 });

function naiveNext(titles: number[][], prefix: number[]): number[] {
  const s = new Set<number>();
  for (const t of titles) if (t.length > prefix.length && prefix.every((v, i) => t[i] === v)) s.add(t[prefix.length]!);
  return [...s].sort((a, b) => a - b);
}

describe('TokenTrie', () => {
  it('allowed next tokens, completion and title -> docs equal a naive scan', () => {
    fc.assert(
      fc.property(titlesArb, fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }), (titles, probe) => {
        const trie = TokenTrie.build(titles);
        const prefixes = [probe, ...titles.map((t) => t.slice(0, 2)), ...titles];
        for (const prefix of prefixes) {
          const node = trie.walk(prefix);
          const hasPrefix = titles.some((t) => t.length > 0 && t.length >= prefix.length && prefix.every((v, i) => t[i] === v));
          expect(node !== undefined).toBe(hasPrefix || prefix.length === 0);
          if (!node) continue;
          expect(Array.from(trie.children(node).tokens)).toEqual(
            naiveNext(
              titles.filter((t) => t.length > 0),
              prefix,
            ),
          );
          const docs = titles.flatMap((t, d) => (t.length > 0 && t.length === prefix.length && prefix.every((v, i) => t[i] === v) ? [d] : []));
          expect(trie.isComplete(node)).toBe(docs.length > 0);
          expect(Array.from(trie.lookup(prefix))).toEqual(docs);
          for (const [i, tok] of trie.children(node).tokens.entries()) expect(trie.children(node).nodes[i]).toEqual(trie.child(node, tok));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('maps duplicate titles to all their documents and skips empty titles', () => {
    const trie = TokenTrie.build([[1, 2], [], [1, 2], [1], [1, 2, 3]]);
    expect(trie.size).toBe(3);
    expect(Array.from(trie.lookup([1, 2]))).toEqual([0, 2]);
    expect(Array.from(trie.lookup([]))).toEqual([]);
    expect(Array.from(trie.lookup([1]))).toEqual([3]);
    const n = trie.walk([1, 2])!;
    expect(trie.isComplete(n)).toBe(true);
    expect(Array.from(trie.children(n).tokens)).toEqual([3]);
    expect(trie.child(trie.root(), 9)).toBeUndefined();
    expect(TokenTrie.build([]).children(TokenTrie.build([]).root()).tokens.length).toBe(0);
    expect(() => TokenTrie.build([[1, 1.5]])).toThrow(/non-negative integers/);
  });

  it('writes and reads its arrays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trie-'));
    try {
      const trie = TokenTrie.build([[4, 5], [4], [6, 1, 2], [4, 5]]);
      await trie.writeFiles(dir);
      const back = await TokenTrie.readFiles(dir);
      expect(Array.from(back.lookup([4, 5]))).toEqual([0, 3]);
      expect(back.byteLength).toBe(trie.byteLength);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
