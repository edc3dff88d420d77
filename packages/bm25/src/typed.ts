type Growable = Int32Array | Uint8Array | Float32Array | Float64Array;

/** Returns `array` if it holds `needed` elements, else a copy with room to spare (doubling). */
export function ensureCapacity<T extends Growable>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  let capacity = Math.max(16, array.length);
  while (capacity < needed) capacity *= 2;
  const ctor = array.constructor as new (length: number) => T;
  const next = new ctor(capacity);
  next.set(array as never);
  return next;
}
