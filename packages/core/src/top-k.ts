/**
 * Bounded min-heap over (score, index) pairs kept in typed arrays, so a scan over
 * millions of candidates allocates nothing per element. Ties keep the lower index.
 */
export class TopK {
  readonly capacity: number;
  readonly #scores: Float64Array;
  readonly #indices: Int32Array;
  #size = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.#scores = new Float64Array(this.capacity);
    this.#indices = new Int32Array(this.capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** The score a candidate must beat to enter (−Infinity until full). */
  get threshold(): number {
    return this.#size < this.capacity ? -Infinity : this.#scores[0]!;
  }

  reset(): void {
    this.#size = 0;
  }

  push(index: number, score: number): void {
    const cap = this.capacity;
    if (cap === 0) return;
    const s = this.#scores;
    const ix = this.#indices;
    if (this.#size < cap) {
      let i = this.#size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(score, index, s[p]!, ix[p]!)) break;
        s[i] = s[p]!;
        ix[i] = ix[p]!;
        i = p;
      }
      s[i] = score;
      ix[i] = index;
      return;
    }
    if (!worse(s[0]!, ix[0]!, score, index)) return;
    // Replace the root and sift down.
    let i = 0;
    const n = this.#size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && worse(s[r]!, ix[r]!, s[l]!, ix[l]!)) c = r;
      if (!worse(s[c]!, ix[c]!, score, index)) break;
      s[i] = s[c]!;
      ix[i] = ix[c]!;
      i = c;
    }
    s[i] = score;
    ix[i] = index;
  }

  /** Drains the heap: indices and scores, best first. */
  drain(): { indices: Int32Array; scores: Float64Array } {
    const n = this.#size;
    const order = Array.from({ length: n }, (_, i) => i);
    const s = this.#scores;
    const ix = this.#indices;
    order.sort((a, b) => (worse(s[a]!, ix[a]!, s[b]!, ix[b]!) ? 1 : worse(s[b]!, ix[b]!, s[a]!, ix[a]!) ? -1 : 0));
    const indices = new Int32Array(n);
    const scores = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      indices[i] = ix[order[i]!]!;
      scores[i] = s[order[i]!]!;
    }
    this.#size = 0;
    return { indices, scores };
  }
}

/** True when (sa, ia) ranks below (sb, ib): lower score, or equal score and higher index. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}
