import { InputError } from '@quarry/core';

export type ResidualBits = 1 | 2 | 4;

export function checkNbits(nbits: number): asserts nbits is ResidualBits {
  if (nbits !== 1 && nbits !== 2 && nbits !== 4) throw new InputError(`nbits must be 1, 2 or 4 (bits per dimension of a compressed residual), got ${nbits}.`);
}

/**
 * ColBERTv2's residual compression: a token vector is stored as its nearest centroid plus
 * the residual (vector - centroid) quantised to `nbits` per dimension. The bucket edges are
 * quantiles of all residual values of a training sample, and each bucket decodes to the
 * quantile at its middle, so every bucket is used about equally.
 */
export class ResidualCodec {
  /** `2^nbits - 1` ascending bucket edges. */
  readonly cutoffs: Float32Array;
  /** `2^nbits` decoded values, one per bucket. */
  readonly weights: Float32Array;
  readonly bytesPerToken: number;

  constructor(
    readonly dim: number,
    readonly nbits: ResidualBits,
    cutoffs: Float32Array,
    weights: Float32Array,
  ) {
    checkNbits(nbits);
    if ((dim * nbits) % 8 !== 0) throw new InputError(`dim x nbits must be a multiple of 8 bits to pack residuals into bytes; got dim ${dim} with nbits ${nbits}.`);
    const buckets = 1 << nbits;
    if (cutoffs.length !== buckets - 1 || weights.length !== buckets) throw new InputError(`a ${nbits}-bit codec needs ${buckets - 1} cutoffs and ${buckets} weights.`);
    this.cutoffs = cutoffs;
    this.weights = weights;
    this.bytesPerToken = (dim * nbits) / 8;
    // Every byte decodes to 8 / nbits bucket values: a table turns decoding into lookups.
    const perByte = 8 / nbits;
    const mask = (1 << nbits) - 1;
    this.#lut = new Float32Array(256 * perByte);
    for (let byte = 0; byte < 256; byte++) for (let k = 0; k < perByte; k++) this.#lut[byte * perByte + k] = weights[(byte >> (k * nbits)) & mask]!;
  }

  readonly #lut: Float32Array;

  /** Fits bucket edges and values to the residuals (rows of `dim`) of a sample. */
  static fit(residuals: Float32Array, dim: number, nbits: ResidualBits): ResidualCodec {
    checkNbits(nbits);
    const sorted = Float32Array.from(residuals).sort();
    const buckets = 1 << nbits;
    const quantile = (q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    const cutoffs = Float32Array.from({ length: buckets - 1 }, (_, i) => quantile((i + 1) / buckets));
    const weights = Float32Array.from({ length: buckets }, (_, i) => quantile((i + 0.5) / buckets));
    return new ResidualCodec(dim, nbits, cutoffs, weights);
  }

  /** Quantises `vector - centroid` into `out[offset .. offset + bytesPerToken)`. */
  encode(vector: Float32Array, vOffset: number, centroids: Float32Array, code: number, out: Uint8Array, offset: number): void {
    const { dim, nbits, cutoffs } = this;
    const perByte = 8 / nbits;
    const c0 = code * dim;
    out.fill(0, offset, offset + this.bytesPerToken);
    for (let j = 0; j < dim; j++) {
      const r = vector[vOffset + j]! - centroids[c0 + j]!;
      let bucket = 0;
      while (bucket < cutoffs.length && r >= cutoffs[bucket]!) bucket++;
      out[offset + Math.floor(j / perByte)]! |= bucket << ((j % perByte) * nbits);
    }
  }

  /** Writes centroid + decoded residual, L2-normalised, into `out[outOffset .. + dim)`. */
  decode(packed: Uint8Array, offset: number, centroids: Float32Array, code: number, out: Float32Array, outOffset: number): void {
    const dim = this.dim;
    const perByte = 8 / this.nbits;
    const lut = this.#lut;
    const c0 = code * dim;
    let j = 0;
    for (let b = 0; b < this.bytesPerToken; b++) {
      const base = packed[offset + b]! * perByte;
      for (let k = 0; k < perByte; k++, j++) out[outOffset + j] = centroids[c0 + j]! + lut[base + k]!;
    }
    let norm = 0;
    for (let t = 0; t < dim; t++) norm += out[outOffset + t]! * out[outOffset + t]!;
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let t = 0; t < dim; t++) out[outOffset + t]! *= inv;
    }
  }
}
