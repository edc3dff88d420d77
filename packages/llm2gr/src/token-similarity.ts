import { InputError } from '@quarry/core';
import { StaticEncoder, bundledModelDir, loadOwnModel } from '@quarry/encoders';
import type { TokenCodec } from './corpus-scorer.js';

/** One L2-normalised vector per token id (zero rows: tokens the model has no vector for). */
export interface TokenVectors {
  dim: number;
  vocabSize: number;
  vectors: Float32Array;
}

/**
 * Token vectors of one of Quarry's own static encoders (default: the bundled `scifact-static`
 * model of @quarry/encoders): row `mapping[t]` of its embedding table, L2-normalised. The
 * encoder's tokenizer must be the codec's (same vocabulary and ids).
 */
export async function ownEncoderTokenVectors(codec: TokenCodec, dir: string = bundledModelDir()): Promise<TokenVectors> {
  const encoder = await loadOwnModel(dir);
  if (!(encoder instanceof StaticEncoder)) throw new InputError(`${dir} is not a static own model; token similarities need one (e.g. the bundled scifact-static).`);
  const model = encoder.model;
  const probe = ' Vitamin D deficiency (p53) 12 µm';
  const ids = Array.from(encoder.tokenizer.encode(probe, { addSpecialTokens: false }));
  if (model.mapping.length !== codec.vocabSize || ids.join(',') !== codec.encode(probe).join(',')) {
    throw new InputError(`The encoder in ${dir} uses another tokenizer than the LLM2GR index; token similarities need the same vocabulary.`);
  }
  const dim = model.dim;
  const V = model.mapping.length;
  const vectors = new Float32Array(V * dim);
  for (let t = 0; t < V; t++) {
    const row = model.mapping[t]!;
    if (row < 0) continue;
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += model.embeddings[row * dim + j]! ** 2;
    if (norm === 0) continue;
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < dim; j++) vectors[t * dim + j] = model.embeddings[row * dim + j]! * inv;
  }
  return { dim, vocabSize: V, vectors };
}

/** The `k` tokens among `candidates` most similar to `token` (cosine >= minSimilarity), best first. */
export function nearestTokens(tv: TokenVectors, token: number, candidates: Int32Array, k: number, minSimilarity: number): { token: number; similarity: number }[] {
  const { dim, vectors } = tv;
  if (token < 0 || token >= tv.vocabSize) return [];
  const q = token * dim;
  const best: { token: number; similarity: number }[] = [];
  for (const c of candidates) {
    if (c === token || c >= tv.vocabSize) continue;
    const o = c * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[q + j]! * vectors[o + j]!;
    if (s < minSimilarity) continue;
    if (best.length < k) best.push({ token: c, similarity: s });
    else if (s > best[best.length - 1]!.similarity) best[best.length - 1] = { token: c, similarity: s };
    else continue;
    best.sort((a, b) => b.similarity - a.similarity);
  }
  return best;
}
