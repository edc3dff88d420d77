import { InputError, throwIfAborted, type EncodeOptions, type Encoder, type Matrix, type RaggedMatrix, type TokenEncoder } from '@quarry/core';
import type { ContextualModel } from './contextual-model.js';
import type { EmbeddingModel } from './model.js';
import type { StaticModel } from './static-model.js';
import type { TextTokenizer } from './tokenizer.js';
import { matrix, normalizeInPlace, packRagged, resolveDim, textsArray } from './vectors.js';

export interface ModelEncoderOptions {
  /** L2-normalise text and token vectors (default true). */
  normalize?: boolean;
  /** Token budget per text (default 512). */
  maxLength?: number;
  /** Add the tokenizer's special tokens (default false: static models skip [CLS]/[SEP]). */
  addSpecialTokens?: boolean;
  /** Drop the tokenizer's unknown token before pooling (model2vec does; default false). */
  dropUnknown?: boolean;
  queryPrefix?: string;
  documentPrefix?: string;
}

/** How many texts to encode between abort checks and progress yields. */
const CHUNK = 256;

/**
 * An Encoder and TokenEncoder running a token-embedding model in TypeScript: tokenise,
 * look up / compute token vectors, mean-pool, L2-normalise. Matryoshka `dim` keeps the
 * first `dim` components (re-normalised).
 */
export class ModelEncoder<M extends EmbeddingModel = EmbeddingModel> implements Encoder, TokenEncoder {
  readonly dim: number;
  readonly model: M;
  readonly tokenizer: TextTokenizer;
  readonly options: Required<ModelEncoderOptions>;

  constructor(model: M, tokenizer: TextTokenizer, options: ModelEncoderOptions = {}) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.dim = model.dim;
    this.options = {
      normalize: options.normalize ?? true,
      maxLength: options.maxLength ?? 512,
      addSpecialTokens: options.addSpecialTokens ?? false,
      dropUnknown: options.dropUnknown ?? false,
      queryPrefix: options.queryPrefix ?? '',
      documentPrefix: options.documentPrefix ?? '',
    };
  }

  /** Token ids exactly as the encoder feeds them to the model. */
  tokenize(text: string, role: EncodeOptions['role'] = 'document'): Int32Array {
    const o = this.options;
    const prefix = role === 'query' ? o.queryPrefix : o.documentPrefix;
    let ids = this.tokenizer.encode(prefix + text, { maxLength: o.dropUnknown ? undefined : o.maxLength, addSpecialTokens: o.addSpecialTokens });
    if (o.dropUnknown && this.tokenizer.unkId !== undefined) {
      const unk = this.tokenizer.unkId;
      ids = ids.filter((id) => id !== unk).slice(0, o.maxLength);
    }
    return ids;
  }

  async encode(texts: readonly string[], options: EncodeOptions): Promise<Matrix> {
    textsArray(texts);
    const dim = resolveDim(options.dim, this.dim);
    const full = this.dim;
    const out = new Float32Array(texts.length * dim);
    const row = dim === full ? out : new Float32Array(full);
    for (let i = 0; i < texts.length; i++) {
      if (i % CHUNK === 0) {
        throwIfAborted(options.signal, 'encoding');
        if (i > 0) await yieldToLoop();
      }
      const ids = this.tokenize(texts[i]!, options.role);
      if (dim === full) this.model.pool(ids, out, i * dim);
      else {
        this.model.pool(ids, row, 0);
        out.set(row.subarray(0, dim), i * dim);
      }
      if (this.options.normalize) normalizeInPlace(out, i * dim, dim);
    }
    return matrix(texts.length, dim, out);
  }

  /**
   * Text vectors from token ids (as `tokenize` returns them), optionally with one weight per
   * token that scales its vector in the mean: a pooling bias, e.g. from a query-side module
   * that decides which tokens a Boolean operator governs. `tokenWeights[i]` has
   * `ids[i].length` entries; without weights this equals `encode`.
   */
  encodeIds(ids: readonly Int32Array[], options: { dim?: number; tokenWeights?: readonly Float32Array[] } = {}): Matrix {
    const dim = resolveDim(options.dim, this.dim);
    const full = this.dim;
    const out = new Float32Array(ids.length * dim);
    const row = new Float32Array(full);
    ids.forEach((seq, i) => {
      const weights = options.tokenWeights?.[i];
      if (!weights) this.model.pool(seq, row, 0);
      else {
        if (weights.length !== seq.length) throw new InputError(`tokenWeights[${i}] has ${weights.length} entries for ${seq.length} tokens.`);
        const x = this.model.tokens(seq);
        row.fill(0);
        for (let t = 0; t < seq.length; t++) for (let j = 0; j < full; j++) row[j]! += weights[t]! * x[t * full + j]!;
        if (seq.length) for (let j = 0; j < full; j++) row[j]! /= seq.length;
      }
      out.set(row.subarray(0, dim), i * dim);
      if (this.options.normalize) normalizeInPlace(out, i * dim, dim);
    });
    return matrix(ids.length, dim, out);
  }

  async encodeTokens(texts: readonly string[], options: EncodeOptions): Promise<RaggedMatrix> {
    textsArray(texts);
    const dim = resolveDim(options.dim, this.dim);
    const parts: Float32Array[] = [];
    for (let i = 0; i < texts.length; i++) {
      if (i % CHUNK === 0) {
        throwIfAborted(options.signal, 'encoding');
        if (i > 0) await yieldToLoop();
      }
      const ids = this.tokenize(texts[i]!, options.role);
      const full = this.model.tokens(ids);
      const n = ids.length;
      const part = dim === this.dim ? full : new Float32Array(n * dim);
      if (dim !== this.dim) for (let t = 0; t < n; t++) part.set(full.subarray(t * this.dim, t * this.dim + dim), t * dim);
      if (this.options.normalize) for (let t = 0; t < n; t++) normalizeInPlace(part, t * dim, dim);
      parts.push(part);
    }
    return packRagged(parts, dim);
  }
}

/** Static token embeddings (Quarry's own static model, or a model2vec model). */
export class StaticEncoder extends ModelEncoder<StaticModel> {}

/** Static embeddings plus a residual 1D-convolution block (Quarry's own contextual model). */
export class ContextualEncoder extends ModelEncoder<ContextualModel> {}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
