/**
 * A hash map from a span of a string (text[start, end)) to a value, probed with a hash
 * the caller computed (`forEachTokenSpan` hashes tokens while scanning), without cutting
 * the span out: most tokens of a corpus were seen before, so a hit allocates nothing.
 * Open addressing with linear probing over typed arrays; keys kept as strings.
 */
export class SpanCache<V> {
  #keys: string[] = [];
  #values: V[] = [];
  #hashes = new Int32Array(1 << 11);
  /** Slot -> entry index + 1 (0 = empty); at most half full. */
  #slots = new Int32Array(1 << 12);
  #mask = (1 << 12) - 1;
  readonly #maxEntries: number;

  /** When `maxEntries` is reached the cache starts over, bounding its memory. */
  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#keys.length;
  }

  /** Index of the entry for text[start, end), or -1. */
  find(text: string, start: number, end: number, hash: number): number {
    const len = end - start;
    const keys = this.#keys;
    const hashes = this.#hashes;
    const slots = this.#slots;
    for (let s = hash & this.#mask; ; s = (s + 1) & this.#mask) {
      const e = slots[s]! - 1;
      if (e < 0) return -1;
      if (hashes[e] !== hash) continue;
      const key = keys[e]!;
      if (key.length !== len) continue;
      let i = 0;
      while (i < len && key.charCodeAt(i) === text.charCodeAt(start + i)) i++;
      if (i === len) return e;
    }
  }

  value(entry: number): V {
    return this.#values[entry]!;
  }

  /** Adds a key known to be absent. Clears everything first when full (bounded memory). */
  add(key: string, hash: number, value: V): void {
    if (this.#keys.length >= this.#maxEntries) this.clear();
    const e = this.#keys.length;
    this.#keys.push(key);
    this.#values.push(value);
    if (e >= this.#hashes.length) {
      const grown = new Int32Array(this.#hashes.length * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[e] = hash;
    if ((e + 1) * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    else this.#place(e, hash);
  }

  clear(): void {
    this.#keys = [];
    this.#values = [];
    this.#slots.fill(0);
  }

  #place(entry: number, hash: number): void {
    let s = hash & this.#mask;
    while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
    this.#slots[s] = entry + 1;
  }

  #rehash(size: number): void {
    this.#slots = new Int32Array(size);
    this.#mask = size - 1;
    for (let e = 0; e < this.#keys.length; e++) this.#place(e, this.#hashes[e]!);
  }
}
