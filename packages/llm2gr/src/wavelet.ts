/**
 * Rank-ready bit vectors and a wavelet matrix (Claude, Navarro & Ordóñez 2015) over an
 * integer sequence: access, rank and the distinct symbols of a range in O(log sigma).
 *
 * Bit vector layout: blocks of 10 Int32 per 256 bits — the number of ones before the block,
 * the ones before its 2nd, 3rd and 4th 64-bit quarter (one byte each), then 8 words — so a
 * rank reads one block and does at most two popcounts. Int32 (not Uint32) storage keeps
 * every element a small integer for V8.
 */

const BLOCK_STRIDE = 10;

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Storage length (Int32s) of a rank-ready bit vector of `n` bits. */
export function bitvectorLength(n: number): number {
  return (Math.floor(n / 256) + 1) * BLOCK_STRIDE;
}

/** Sets bit i of a rank-ready bit vector (before `finishBitvector`). */
export function setBit(data: Int32Array, i: number): void {
  data[(i >>> 8) * BLOCK_STRIDE + 2 + ((i >>> 5) & 7)]! |= 1 << (i & 31);
}

export function getBit(data: Int32Array, i: number): number {
  return (data[(i >>> 8) * BLOCK_STRIDE + 2 + ((i >>> 5) & 7)]! >>> (i & 31)) & 1;
}

/** Fills the block and quarter counts; returns the total number of ones. */
export function finishBitvector(data: Int32Array): number {
  let ones = 0;
  for (let b = 0; b < data.length; b += BLOCK_STRIDE) {
    data[b] = ones;
    let inBlock = 0;
    let sub = 0;
    for (let w = 0; w < 8; w++) {
      if (w === 2 || w === 4 || w === 6) sub |= inBlock << (((w >>> 1) - 1) * 8);
      inBlock += popcount32(data[b + 2 + w]!);
    }
    data[b + 1] = sub;
    ones += inBlock;
  }
  return ones;
}

/** Number of ones in bits [0, i). */
export function rank1(data: Int32Array, i: number): number {
  return rankAt(data, 0, i);
}

/** rank1 of the bit vector starting at `off` in `data`. */
function rankAt(data: Int32Array, off: number, i: number): number {
  const base = off + (i >>> 8) * BLOCK_STRIDE;
  let r = data[base]!;
  const q = (i >>> 6) & 3;
  if (q !== 0) r += (data[base + 1]! >>> ((q - 1) << 3)) & 0xff;
  const w = (i >>> 5) & 7;
  if ((w & 1) !== 0) r += popcount32(data[base + 1 + w]!);
  const rem = i & 31;
  if (rem !== 0) r += popcount32(data[base + 2 + w]! & ((1 << rem) - 1));
  return r;
}

export interface WaveletMatrixData {
  n: number;
  levels: number;
  /** levels × bitvectorLength(n) Uint32s. */
  bits: Int32Array;
  /** Zeros per level. */
  zeros: Int32Array;
}

export class WaveletMatrix {
  readonly n: number;
  readonly levels: number;
  readonly bits: Int32Array;
  readonly zeros: Int32Array;
  readonly #stride: number;

  constructor(data: WaveletMatrixData) {
    this.n = data.n;
    this.levels = data.levels;
    this.bits = data.bits;
    this.zeros = data.zeros;
    this.#stride = bitvectorLength(data.n);
  }

  /** Builds from values in [0, 2^levels). */
  static build(values: Int32Array, levels: number): WaveletMatrix {
    const n = values.length;
    const stride = bitvectorLength(n);
    const bits = new Int32Array(stride * Math.max(levels, 0));
    const zeros = new Int32Array(levels);
    let cur = Int32Array.from(values);
    let next = new Int32Array(n);
    for (let l = 0; l < levels; l++) {
      const shift = levels - 1 - l;
      const level = bits.subarray(l * stride, (l + 1) * stride);
      let z = 0;
      for (let i = 0; i < n; i++) if (((cur[i]! >>> shift) & 1) === 0) z++;
      let zi = 0,
        oi = z;
      for (let i = 0; i < n; i++) {
        const v = cur[i]!;
        if (((v >>> shift) & 1) === 0) next[zi++] = v;
        else {
          setBit(level, i);
          next[oi++] = v;
        }
      }
      finishBitvector(level);
      zeros[l] = z;
      const tmp = cur;
      cur = next;
      next = tmp;
    }
    return new WaveletMatrix({ n, levels, bits, zeros });
  }

  /** Position ranges of the final level, by value (for `extendRange`). Returns start per value. */
  finalStarts(alphabet: number, values: Int32Array): Int32Array {
    // Final order sorts values by their bit-reversed code, stably; compute starts by counting.
    const count = new Int32Array(alphabet);
    for (let i = 0; i < values.length; i++) count[values[i]!]!++;
    const order = Array.from({ length: alphabet }, (_, v) => v).sort((a, b) => reverseBits(a, this.levels) - reverseBits(b, this.levels));
    const starts = new Int32Array(alphabet);
    let sum = 0;
    for (const v of order) {
      starts[v] = sum;
      sum += count[v]!;
    }
    return starts;
  }

  /** The value at position i. */
  access(i: number): number {
    const stride = this.#stride;
    const bits = this.bits;
    let v = 0;
    for (let l = 0, off = 0; l < this.levels; l++, off += stride) {
      const bit = (bits[off + (i >>> 8) * BLOCK_STRIDE + 2 + ((i >>> 5) & 7)]! >>> (i & 31)) & 1;
      const r1 = rankAt(bits, off, i);
      v = (v << 1) | bit;
      i = bit === 0 ? i - r1 : this.zeros[l]! + r1;
    }
    return v;
  }

  /**
   * Value at position i and its position after the last level (`finalPos`), from which
   * rank(value, i) = finalPos - finalStart[value]. Used for LF-mapping.
   */
  accessFinal(i: number, out: Int32Array): void {
    const stride = this.#stride;
    const bits = this.bits;
    let v = 0;
    for (let l = 0, off = 0; l < this.levels; l++, off += stride) {
      const bit = (bits[off + (i >>> 8) * BLOCK_STRIDE + 2 + ((i >>> 5) & 7)]! >>> (i & 31)) & 1;
      const r1 = rankAt(bits, off, i);
      v = (v << 1) | bit;
      i = bit === 0 ? i - r1 : this.zeros[l]! + r1;
    }
    out[0] = v;
    out[1] = i;
  }

  /** Maps [a, b) through the levels following value c; returns the final-level positions in out. */
  mapRange(c: number, a: number, b: number, out: Int32Array): void {
    const stride = this.#stride;
    const bits = this.bits;
    const zeros = this.zeros;
    const levels = this.levels;
    for (let l = 0, off = 0; l < levels; l++, off += stride) {
      const ra = rankAt(bits, off, a);
      const rb = rankAt(bits, off, b);
      if (((c >>> (levels - 1 - l)) & 1) === 0) {
        a -= ra;
        b -= rb;
      } else {
        const z = zeros[l]!;
        a = z + ra;
        b = z + rb;
      }
      if (a === b) break;
    }
    out[0] = a;
    out[1] = b;
  }

  /** Number of occurrences of c in [0, i). */
  rank(c: number, i: number, finalStart: number): number {
    const out = new Int32Array(2);
    this.mapRange(c, 0, i, out);
    // mapRange(c, 0, i) ends at [finalStart, finalStart + rank) unless it broke early (rank 0).
    return out[1]! - out[0]! === 0 ? 0 : out[1]! - finalStart;
  }

  /**
   * Calls fn(value, a, b) for every distinct value in positions [a, b), where [a, b) are the
   * value's final-level positions (its count is b - a).
   */
  distinct(a: number, b: number, fn: (value: number, a: number, b: number) => void): void {
    this.#distinct(0, 0, a, b, fn);
  }

  #distinct(level: number, prefix: number, a: number, b: number, fn: (value: number, a: number, b: number) => void): void {
    if (a >= b) return;
    if (level === this.levels) {
      fn(prefix, a, b);
      return;
    }
    const off = level * this.#stride;
    const ra = rankAt(this.bits, off, a);
    const rb = rankAt(this.bits, off, b);
    const z = this.zeros[level]!;
    this.#distinct(level + 1, prefix << 1, a - ra, b - rb, fn);
    this.#distinct(level + 1, (prefix << 1) | 1, z + ra, z + rb, fn);
  }

  get byteLength(): number {
    return this.bits.byteLength + this.zeros.byteLength;
  }
}

export function reverseBits(v: number, bits: number): number {
  let r = 0;
  for (let i = 0; i < bits; i++) {
    r = (r << 1) | ((v >>> i) & 1);
  }
  return r;
}
