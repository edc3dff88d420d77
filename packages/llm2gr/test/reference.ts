/** Naive references for the FM-index: a plain substring scan and a comparison-sorted suffix array. */

export interface NaiveOcc {
  doc: number;
  offset: number;
}

/** Every (doc, offset) where the pattern occurs, by scanning each document. */
export function scanLocate(docs: readonly ArrayLike<number>[], pattern: ArrayLike<number>): NaiveOcc[] {
  const out: NaiveOcc[] = [];
  if (pattern.length === 0) return out;
  docs.forEach((doc, d) => {
    for (let i = 0; i + pattern.length <= doc.length; i++) {
      let ok = true;
      for (let j = 0; j < pattern.length && ok; j++) ok = doc[i + j] === pattern[j];
      if (ok) out.push({ doc: d, offset: i });
    }
  });
  return out;
}

/** Distinct next tokens after each occurrence (within the document), with counts, by token. */
export function scanSuccessors(docs: readonly ArrayLike<number>[], pattern: ArrayLike<number>): [number, number][] {
  const counts = new Map<number, number>();
  if (pattern.length === 0) {
    for (const doc of docs) for (let i = 0; i < doc.length; i++) counts.set(doc[i]!, (counts.get(doc[i]!) ?? 0) + 1);
  } else {
    for (const { doc, offset } of scanLocate(docs, pattern)) {
      const next = offset + pattern.length;
      if (next < docs[doc]!.length) counts.set(docs[doc]![next]!, (counts.get(docs[doc]![next]!) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => a[0] - b[0]);
}

/** A suffix array over the documents (separator -1 between them), sorted by comparison; O(n^2 log n). */
export class NaiveSuffixArray {
  readonly text: Int32Array;
  readonly sa: Int32Array;
  readonly starts: number[] = [];

  constructor(docs: readonly ArrayLike<number>[]) {
    const parts: number[] = [];
    for (const doc of docs) {
      this.starts.push(parts.length);
      for (let i = 0; i < doc.length; i++) parts.push(doc[i]!);
      parts.push(-1);
    }
    this.text = Int32Array.from(parts);
    const n = this.text.length;
    const idx = Array.from({ length: n }, (_, i) => i);
    const t = this.text;
    idx.sort((a, b) => {
      while (a < n && b < n) {
        if (t[a] !== t[b]) return t[a]! - t[b]!;
        a++;
        b++;
      }
      return a < n ? 1 : b < n ? -1 : 0;
    });
    this.sa = Int32Array.from(idx);
  }

  #cmp(pos: number, pattern: ArrayLike<number>): number {
    for (let j = 0; j < pattern.length; j++) {
      const c = pos + j < this.text.length ? this.text[pos + j]! : -2;
      if (c !== pattern[j]) return c - pattern[j]!;
    }
    return 0;
  }

  /** Row interval of suffixes starting with the pattern (binary search). */
  range(pattern: ArrayLike<number>): [number, number] {
    let lo = 0,
      hi = this.sa.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#cmp(this.sa[mid]!, pattern) < 0) lo = mid + 1;
      else hi = mid;
    }
    let end = lo,
      top = this.sa.length;
    while (end < top) {
      const mid = (end + top) >>> 1;
      if (this.#cmp(this.sa[mid]!, pattern) <= 0) end = mid + 1;
      else top = mid;
    }
    return [lo, end];
  }

  count(pattern: ArrayLike<number>): number {
    const [a, b] = this.range(pattern);
    return b - a;
  }

  locate(pattern: ArrayLike<number>): NaiveOcc[] {
    const [a, b] = this.range(pattern);
    const out: NaiveOcc[] = [];
    for (let i = a; i < b; i++) {
      const pos = this.sa[i]!;
      let d = 0;
      while (d + 1 < this.starts.length && this.starts[d + 1]! <= pos) d++;
      out.push({ doc: d, offset: pos - this.starts[d]! });
    }
    return out.sort((x, y) => x.doc - y.doc || x.offset - y.offset);
  }
}
