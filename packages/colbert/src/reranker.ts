import { checkOptions, docText, isBlankDoc, throwIfAborted, type Hit, type Query, type RaggedMatrix, type RerankContext, type Reranker, type TokenEncoder } from '@quarry/core';
import { colbertRerankerOptionsSchema } from './options.js';
import { checkMatryoshkaDim, sliceItem, truncateTokens } from './matryoshka.js';
import { MaxSimKernel } from './maxsim-kernel.js';
import { tokenMatches, type TokenStrings } from './explain.js';

export interface ColbertRerankerOptions {
  /** Matryoshka token dimension (a prefix of the encoder's, re-normalised); default: the encoder's. */
  dim?: number;
  /** Documents whose token vectors are kept between queries (least recently used go first). */
  cacheSize?: number;
  /** Texts per encoder call. */
  batchSize?: number;
  /** onnxruntime threads of the MaxSim kernel (default 2). */
  threads?: number;
  /** Token strings for explanations: the top `explainTop` hits carry `explain.matches`. */
  tokenStrings?: TokenStrings;
  /** How many of the best hits get token-match explanations (default 10; 0 = none). */
  explainTop?: number;
}

/**
 * Reranks candidates by exact MaxSim between the query's and each document's token
 * vectors, from any `TokenEncoder` (an ONNX ColBERT export, or Quarry's own model).
 * Document token vectors are encoded on first use and cached by id.
 */
export class ColbertReranker implements Reranker {
  readonly name = 'colbert';
  readonly dim: number;
  readonly #cache = new Map<string, RaggedMatrix>();
  readonly #cacheSize: number;
  readonly #batchSize: number;
  readonly #kernel: MaxSimKernel;
  readonly #tokenStrings: TokenStrings | undefined;
  readonly #explainTop: number;

  constructor(
    readonly encoder: TokenEncoder,
    options: ColbertRerankerOptions = {},
  ) {
    this.dim = options.dim ?? encoder.dim;
    checkMatryoshkaDim(this.dim, encoder.dim);
    checkOptions(colbertRerankerOptionsSchema, options, 'ColbertReranker options');
    this.#cacheSize = options.cacheSize ?? 50_000;
    this.#batchSize = options.batchSize ?? 64;
    this.#kernel = new MaxSimKernel({ threads: options.threads ?? 2 });
    this.#tokenStrings = options.tokenStrings;
    this.#explainTop = options.explainTop ?? 10;
  }

  async rerank(query: Query, candidates: readonly Hit[], context: RerankContext): Promise<Hit[]> {
    // Documents with nothing to match (core's isBlankDoc) are dropped, as every retriever drops them.
    const hits = candidates.filter((h) => {
      const doc = context.docs.get(h.id);
      return !doc || !isBlankDoc(doc);
    });
    if (hits.length === 0) return [];
    const q = truncateTokens(await this.encoder.encodeTokens([query.text], { role: 'query', signal: context.signal }), this.dim);
    const docs = concatItems(
      await this.#docTokens(
        hits.map((h) => h.id),
        context,
      ),
      this.dim,
    );
    const scores = await this.#kernel.score(q, 0, docs, undefined, context.signal);
    const scored: Hit[] = hits.map((h, i) => ({ id: h.id, score: scores[i]! }));
    const position = new Map(hits.map((h, i) => [h.id, i]));
    scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (this.#tokenStrings && this.#explainTop > 0) {
      const queryTokens = this.#tokenStrings(query.text, 'query');
      for (const hit of scored.slice(0, this.#explainTop)) {
        const doc = context.docs.get(hit.id);
        const docTokens = doc ? this.#tokenStrings(docText(doc), 'document') : undefined;
        hit.explain = { ...hit.explain, matches: tokenMatches(q, 0, docs, position.get(hit.id)!, queryTokens, docTokens) };
      }
    }
    return scored;
  }

  /** Token vectors of the given documents, encoding (in batches) only those not cached. */
  async #docTokens(ids: readonly string[], context: RerankContext): Promise<RaggedMatrix[]> {
    const missing = [...new Set(ids.filter((id) => !this.#cache.has(id)))];
    for (let start = 0; start < missing.length; start += this.#batchSize) {
      throwIfAborted(context.signal, 'ColBERT reranking');
      const batch = missing.slice(start, start + this.#batchSize);
      const texts = batch.map((id) => {
        const doc = context.docs.get(id);
        return doc ? docText(doc) : '';
      });
      const m = truncateTokens(await this.encoder.encodeTokens(texts, { role: 'document', signal: context.signal }), this.dim);
      batch.forEach((id, i) => this.#remember(id, sliceItem(m, i)));
    }
    return ids.map((id) => {
      const m = this.#cache.get(id)!;
      this.#cache.delete(id); // refresh its place in the LRU order
      this.#cache.set(id, m);
      return m;
    });
  }

  #remember(id: string, m: RaggedMatrix): void {
    this.#cache.set(id, m);
    while (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
  }
}

/** One ragged matrix holding the given single-item matrices in order. */
function concatItems(items: readonly RaggedMatrix[], dim: number): RaggedMatrix {
  const offsets = new Int32Array(items.length + 1);
  items.forEach((m, i) => (offsets[i + 1] = offsets[i]! + m.data.length / dim));
  const data = new Float32Array(offsets[items.length]! * dim);
  items.forEach((m, i) => data.set(m.data, offsets[i]! * dim));
  return { dim, offsets, data };
}
