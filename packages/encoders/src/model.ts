/** What every token-embedding model (static or contextual) offers the encoders and the trainer. */

/** A trainable tensor with its gradient. `sparse` tracks touched rows (embedding tables). */
export interface Param {
  name: string;
  shape: number[];
  value: Float32Array;
  grad: Float32Array;
  sparse?: SparseRows;
}

/** Rows of a parameter touched since the last optimizer step. */
export class SparseRows {
  readonly touched: Uint8Array;
  list: number[] = [];

  constructor(
    rows: number,
    readonly rowSize: number,
  ) {
    this.touched = new Uint8Array(rows);
  }

  mark(row: number): void {
    if (this.touched[row] === 0) {
      this.touched[row] = 1;
      this.list.push(row);
    }
  }

  clear(): void {
    for (const r of this.list) this.touched[r] = 0;
    this.list = [];
  }
}

/** The serialisable description of one of Quarry's own models. */
export type OwnModelConfig = StaticModelConfig | ContextualModelConfig;

export interface StaticModelConfig {
  type: 'static';
  /** Output dimension (the embedding width). */
  dim: number;
  /** Rows of the embedding table (the pruned vocabulary). */
  rows: number;
  /** Size of the tokenizer's vocabulary; `mapping` has this many entries. */
  vocabSize: number;
  /** Whether per-token weights are learned (otherwise all 1). */
  learnWeights: boolean;
  /**
   * Term-frequency exponent p in (0, 1]: a token that occurs c times in a text counts
   * c^p times in the mean instead of c (sublinear TF, like BM25's saturation). Default 1.
   */
  tfExponent?: number;
}

export interface ContextualModelConfig extends Omit<StaticModelConfig, 'type'> {
  type: 'contextual';
  /** Width of the convolution's hidden space. */
  hidden: number;
  /** Convolution kernel width (odd). */
  kernel: number;
}

/** Activations kept between forward and backward for one text. */
export interface TrainCache {
  ids: Int32Array;
  pooled: Float64Array;
}

/** A model that maps token ids to vectors: mean-pooled, or one per token. */
export interface EmbeddingModel {
  readonly config: OwnModelConfig;
  readonly dim: number;
  /** Writes the mean-pooled (un-normalised) vector of `ids` into `out[offset .. offset+dim)`. */
  pool(ids: Int32Array, out: Float32Array, offset: number): void;
  /** Per-token vectors (un-normalised), `ids.length x dim`, row-major. */
  tokens(ids: Int32Array): Float32Array;
}

export interface TrainableModel extends EmbeddingModel {
  params(): Param[];
  forwardTrain(ids: Int32Array): TrainCache;
  /** Accumulates d(loss)/d(params) given d(loss)/d(pooled). */
  backward(cache: TrainCache, gradPooled: Float64Array): void;
  /** Per-token vectors (un-normalised, `ids.length x dim`) with what `backwardTokens` needs. */
  forwardTokens(ids: Int32Array): { cache: TrainCache; tokens: Float32Array };
  /** Accumulates d(loss)/d(params) given d(loss)/d(token vectors), `ids.length x dim` (late interaction). */
  backwardTokens(cache: TrainCache, gradTokens: Float64Array): void;
}

/** Builds the token id -> row mapping of a pruned vocabulary (rows in ascending token-id order). */
export function mappingFromKeptIds(vocabSize: number, kept: Iterable<number>): { mapping: Int32Array; rowToToken: Int32Array } {
  const mapping = new Int32Array(vocabSize).fill(-1);
  const sorted = [...new Set(kept)].filter((id) => id >= 0 && id < vocabSize).sort((a, b) => a - b);
  sorted.forEach((id, row) => (mapping[id] = row));
  return { mapping, rowToToken: Int32Array.from(sorted) };
}
