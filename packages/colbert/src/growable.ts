/** Append-only typed storage that doubles its capacity: amortised O(1) appends, no per-element objects. */
abstract class Growable<T extends Int32Array | Uint8Array> {
  #data: T;
  #length: number;

  constructor(initial: T | undefined, empty: T) {
    this.#data = initial ?? empty;
    this.#length = initial?.length ?? 0;
  }

  protected abstract allocate(length: number): T;

  get length(): number {
    return this.#length;
  }

  /** The stored values (a view: valid until the next append). */
  view(): T {
    return this.#data.subarray(0, this.#length) as T;
  }

  get(i: number): number {
    return this.#data[i]!;
  }

  set(i: number, value: number): void {
    this.#data[i] = value;
  }

  push(value: number): void {
    this.#reserve(this.#length + 1);
    this.#data[this.#length++] = value;
  }

  append(values: ArrayLike<number>): void {
    this.#reserve(this.#length + values.length);
    this.#data.set(values, this.#length);
    this.#length += values.length;
  }

  reset(values: T): void {
    this.#data = values;
    this.#length = values.length;
  }

  #reserve(n: number): void {
    if (n <= this.#data.length) return;
    const next = this.allocate(Math.max(n, Math.ceil(this.#data.length * 1.5), 16));
    next.set(this.#data.subarray(0, this.#length));
    this.#data = next;
  }
}

export class GrowableInt32 extends Growable<Int32Array> {
  constructor(initial?: Int32Array) {
    super(initial, new Int32Array(0));
  }
  protected allocate(length: number): Int32Array {
    return new Int32Array(length);
  }
}

export class GrowableUint8 extends Growable<Uint8Array> {
  constructor(initial?: Uint8Array) {
    super(initial, new Uint8Array(0));
  }
  protected allocate(length: number): Uint8Array {
    return new Uint8Array(length);
  }
}
