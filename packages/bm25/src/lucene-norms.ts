/**
 * Lucene's lossy one-byte document lengths (`SmallFloat.intToByte4`), which
 * `BM25Similarity` stores as the norm of every field. Lengths 0..40 survive
 * exactly; above that only 4 significant bits of (length - 24) are kept, rounded
 * down: a 100-token document scores as if it had 96 tokens, a 1000-token one 984.
 * Reproducing this is what makes scores match Lucene/Anserini bit for bit.
 */

/** `longToInt4`: a float-like encoding of a non-negative integer with 3 explicit mantissa bits. */
function longToInt4(i: number): number {
  const numBits = 32 - Math.clz32(i); // inputs here are < 2^31
  if (numBits < 4) return i; // subnormal
  const shift = numBits - 4;
  // Keep the 4 most significant bits, drop the implicit leading one, store shift + 1.
  return ((i >>> shift) & 0x07) | ((shift + 1) << 3);
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  // shift can reach 27, beyond 32-bit shifts' safe range for the result: multiply instead.
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

const MAX_INT4 = longToInt4(0x7fffffff); // 231
/** Byte values below this encode the length itself (24 in Lucene 8+). */
const NUM_FREE_VALUES = 255 - MAX_INT4;

/** Lucene's `SmallFloat.intToByte4` as an unsigned byte (0..255). */
export function intToByte4(length: number): number {
  if (!Number.isInteger(length) || length < 0 || length > 0x7fffffff) {
    throw new RangeError(`intToByte4 takes an integer in [0, 2^31), got ${length}`);
  }
  return length < NUM_FREE_VALUES ? length : NUM_FREE_VALUES + longToInt4(length - NUM_FREE_VALUES);
}

/** Lucene's `SmallFloat.byte4ToInt` for an unsigned byte (0..255). */
export function byte4ToInt(byte: number): number {
  const i = byte & 0xff;
  return i < NUM_FREE_VALUES ? i : Math.min(NUM_FREE_VALUES + int4ToLong(i - NUM_FREE_VALUES), 0x7fffffff);
}

/** `BM25Similarity.LENGTH_TABLE`: the decoded length of every norm byte. */
export const LENGTH_TABLE: Float32Array = Float32Array.from({ length: 256 }, (_, i) => byte4ToInt(i));

/** The length Lucene scores a document of `length` tokens with (what survives the byte round trip). */
export function luceneLength(length: number): number {
  return byte4ToInt(intToByte4(length));
}
