import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexCorruptError, InputError, bytesOf, readTyped } from '@quarry/core';

/** A node of the trie: the titles in sorted rows [lo, hi) that share the first `depth` tokens. */
export interface TrieNode {
  lo: number;
  hi: number;
  depth: number;
}

/**
 * A token-level prefix tree over titles, stored as the distinct title token sequences in
 * lexicographic order (flat Int32Array + offsets): a node is a row interval, its children
 * are the runs of equal tokens at its depth (binary search), so there are no per-node
 * objects. Each distinct title maps to every document that carries it.
 */
export class TokenTrie {
  /** Concatenated token sequences of the distinct titles, sorted. */
  readonly tokens: Int32Array;
  /** Row r spans tokens[offsets[r], offsets[r+1]). */
  readonly offsets: Int32Array;
  /** Documents of row r: docs[docOffsets[r], docOffsets[r+1]). */
  readonly docOffsets: Int32Array;
  readonly docs: Int32Array;

  private constructor(tokens: Int32Array, offsets: Int32Array, docOffsets: Int32Array, docs: Int32Array) {
    this.tokens = tokens;
    this.offsets = offsets;
    this.docOffsets = docOffsets;
    this.docs = docs;
  }

  /**
   * Builds from one token sequence per document (`titles[d]` for document number d).
   * Empty titles are skipped (those documents cannot be generated); duplicates share a row.
   */
  static build(titles: readonly ArrayLike<number>[]): TokenTrie {
    const order: number[] = [];
    for (let d = 0; d < titles.length; d++) {
      const t = titles[d]!;
      if (t.length === 0) continue;
      for (let i = 0; i < t.length; i++) {
        const v = t[i]!;
        if (!Number.isInteger(v) || v < 0) throw new InputError(`Title of document ${d} holds token ${v}; token ids must be non-negative integers.`);
      }
      order.push(d);
    }
    order.sort((a, b) => compareSeq(titles[a]!, titles[b]!) || a - b);
    const rows: number[] = [];
    const rowDocs: number[][] = [];
    for (const d of order) {
      if (rows.length && compareSeq(titles[rows[rows.length - 1]!]!, titles[d]!) === 0) rowDocs[rowDocs.length - 1]!.push(d);
      else {
        rows.push(d);
        rowDocs.push([d]);
      }
    }
    const offsets = new Int32Array(rows.length + 1);
    for (let r = 0; r < rows.length; r++) offsets[r + 1] = offsets[r]! + titles[rows[r]!]!.length;
    const tokens = new Int32Array(offsets[rows.length]!);
    rows.forEach((d, r) => tokens.set(Array.from(titles[d]!), offsets[r]!));
    const docOffsets = new Int32Array(rows.length + 1);
    rowDocs.forEach((ds, r) => (docOffsets[r + 1] = docOffsets[r]! + ds.length));
    const docs = Int32Array.from(rowDocs.flat());
    return new TokenTrie(tokens, offsets, docOffsets, docs);
  }

  /** Number of distinct titles. */
  get size(): number {
    return this.offsets.length - 1;
  }

  root(): TrieNode {
    return { lo: 0, hi: this.size, depth: 0 };
  }

  #len(r: number): number {
    return this.offsets[r + 1]! - this.offsets[r]!;
  }

  /** Token of row r at `depth`, or -1 when the row ends before it. */
  #at(r: number, depth: number): number {
    return depth < this.#len(r) ? this.tokens[this.offsets[r]! + depth]! : -1;
  }

  /** Whether a title ends exactly at this node (it is a complete title). */
  isComplete(node: TrieNode): boolean {
    return node.lo < node.hi && this.#len(node.lo) === node.depth;
  }

  /** The row of the complete title at this node, or -1. */
  titleRow(node: TrieNode): number {
    return this.isComplete(node) ? node.lo : -1;
  }

  /** Allowed next tokens at a node with their child nodes, in token order. */
  children(node: TrieNode): { tokens: Int32Array; nodes: TrieNode[] } {
    const toks: number[] = [];
    const nodes: TrieNode[] = [];
    let r = node.lo;
    if (r < node.hi && this.#len(r) === node.depth) r++; // the complete title itself has no child
    while (r < node.hi) {
      const t = this.#at(r, node.depth);
      // Last row with this token (rows are sorted, so a run).
      let lo = r,
        hi = node.hi - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (this.#at(mid, node.depth) === t) lo = mid;
        else hi = mid - 1;
      }
      toks.push(t);
      nodes.push({ lo: r, hi: lo + 1, depth: node.depth + 1 });
      r = lo + 1;
    }
    return { tokens: Int32Array.from(toks), nodes };
  }

  /** Child for one token, or undefined. */
  child(node: TrieNode, token: number): TrieNode | undefined {
    const d = node.depth;
    // First row whose token at d is >= token (rows ending at d sort first, as -1).
    let lo = node.lo,
      hi = node.hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#at(mid, d) < token) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= node.hi || this.#at(lo, d) !== token) return undefined;
    let end = lo,
      top = node.hi;
    while (end + 1 < top) {
      const mid = (end + top) >>> 1;
      if (this.#at(mid, d) === token) end = mid;
      else top = mid;
    }
    return { lo, hi: end + 1, depth: d + 1 };
  }

  /** Node reached by a token prefix, or undefined. */
  walk(prefix: ArrayLike<number>): TrieNode | undefined {
    let node: TrieNode | undefined = this.root();
    for (let i = 0; i < prefix.length && node; i++) node = this.child(node, prefix[i]!);
    return node;
  }

  /** Tokens of distinct title row r. */
  title(row: number): Int32Array {
    return this.tokens.subarray(this.offsets[row]!, this.offsets[row + 1]!);
  }

  /** Documents whose title is row r (every document with that title). */
  docsOf(row: number): Int32Array {
    return this.docs.subarray(this.docOffsets[row]!, this.docOffsets[row + 1]!);
  }

  /** Documents whose title is exactly this token sequence (empty when none). */
  lookup(title: ArrayLike<number>): Int32Array {
    const node = this.walk(title);
    if (!node || !this.isComplete(node)) return new Int32Array(0);
    return this.docsOf(node.lo);
  }

  get byteLength(): number {
    return this.tokens.byteLength + this.offsets.byteLength + this.docOffsets.byteLength + this.docs.byteLength;
  }

  async writeFiles(dir: string, prefix = 'trie'): Promise<void> {
    for (const [name, a] of [
      ['tokens', this.tokens],
      ['offsets', this.offsets],
      ['docoffsets', this.docOffsets],
      ['docs', this.docs],
    ] as const) {
      await writeFile(join(dir, `${prefix}.${name}.bin`), bytesOf(a));
    }
  }

  static async readFiles(dir: string, prefix = 'trie'): Promise<TokenTrie> {
    const read = async (name: string): Promise<Int32Array> => readTyped(new Uint8Array(await readFile(join(dir, `${prefix}.${name}.bin`))), Int32Array, join(dir, `${prefix}.${name}.bin`));
    const trie = new TokenTrie(await read('tokens'), await read('offsets'), await read('docoffsets'), await read('docs'));
    if (trie.offsets.length !== trie.docOffsets.length || trie.offsets[trie.size] !== trie.tokens.length || trie.docOffsets[trie.size] !== trie.docs.length) {
      throw new IndexCorruptError('trie arrays are inconsistent', dir);
    }
    return trie;
  }
}

function compareSeq(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
