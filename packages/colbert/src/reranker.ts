import { checkOptions, DimensionMismatchError, docText, isBlankDoc, throwIfAborted, type Hit, type Query, type RaggedMatrix, type RerankContext, type Reranker, type TokenEncoder } from '@quarry/core';
import { colbertRerankerOptionsSchema } from './options.js';
import { checkMatryoshkaDim, sliceItem, truncateTokens } from './matryoshka.js';
import { MaxSimKernel } from './maxsim-kernel.js';
import { tokenMatches, type TokenStrings } from './explain.js';
import type { DocTokenStore, TokenSource } from './token-store.js';

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
  /**
   * Document token vectors computed at index time (`DocTokenStore.build`): candidates are
   * gathered from it instead of encoded (documents it lacks are still encoded and cached).
   * Its dim must equal the reranker's.
   */
  store?: DocTokenStore;
}

/**
 * Reranks candidates by exact MaxSim between the query's and each document's token
 * vectors, from any `TokenEncoder` (an ONNX ColBERT export, or Quarry's own model).
 * With a `store`, document vectors come from it (computed once, at index time, and saved
 * with the pipeline); otherwise they are encoded on first use and cached by id.
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
  readonly store: DocTokenStore | undefined;
  /** Writes the stored document vectors (present only with a store: the pipeline then saves them). */
  readonly save?: (dir: string) => Promise<void>;

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
    this.store = options.store;
    if (this.store) {
      if (this.store.dim !== this.dim) throw new DimensionMismatchError(this.dim, this.store.dim, 'stored document token vectors');
      const store = this.store;
      this.save = (dir) => store.save(dir);
    }
  }

  async rerank(query: Query, candidates: readonly Hit[], context: RerankContext): Promise<Hit[]> {
    // Documents with nothing to match (core's isBlankDoc) are dropped, as every retriever drops them.
    const hits = candidates.filter((h) => {
      const doc = context.docs.get(h.id);
      return !doc || !isBlankDoc(doc);
    });
    if (hits.length === 0) return [];
    const q = truncateTokens(await this.encoder.encodeTokens([query.text], { role: 'query', signal: context.signal }), this.dim);
    const docs = await this.#candidates(
      hits.map((h) => h.id),
      context,
    );
    const scores = await this.#kernel.score(q, 0, docs.source, docs.items, context.signal);
    const scored: Hit[] = hits.map((h, i) => ({ id: h.id, score: scores[i]! }));
    const position = new Map(hits.map((h, i) => [h.id, i]));
    scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (this.#tokenStrings && this.#explainTop > 0) {
      const queryTokens = this.#tokenStrings(query.text, 'query');
      for (const hit of scored.slice(0, this.#explainTop)) {
        const doc = context.docs.get(hit.id);
        const docTokens = doc ? this.#tokenStrings(docText(doc), 'document') : undefined;
        const matrix = docs.matrix(position.get(hit.id)!);
        hit.explain = { ...hit.explain, matches: tokenMatches(q, 0, matrix, 0, queryTokens, docTokens) };
      }
    }
    return scored;
  }

  /** The candidates as a token source: slots of the store where it holds them, else encoded (and cached) vectors. */
  async #candidates(ids: readonly string[], context: RerankContext): Promise<{ source: RaggedMatrix | TokenSource; items: Int32Array; matrix: (i: number) => RaggedMatrix }> {
    const store = this.store;
    const slots = new Int32Array(ids.length);
    const missing: number[] = [];
    ids.forEach((id, i) => {
      const slot = store?.slotOf(id);
      if (slot === undefined) missing.push(i);
      else slots[i] = slot;
    });
    if (store && missing.length === 0) return { source: store, items: slots, matrix: (i) => store.matrix(slots[i]!) };
    const encoded = concatItems(
      await this.#docTokens(
        missing.map((i) => ids[i]!),
        context,
      ),
      this.dim,
    );
    if (!store) return { source: encoded, items: Int32Array.from(ids, (_, i) => i), matrix: (i) => sliceItem(encoded, i) };
    // Mixed: items >= store.size are the encoded ones.
    missing.forEach((i, k) => (slots[i] = store.size + k));
    const source: TokenSource = {
      dim: this.dim,
      size: store.size + missing.length,
      tokens: (i) => (i < store.size ? store.tokens(i) : encoded.offsets[i - store.size + 1]! - encoded.offsets[i - store.size]!),
      write: (i, out, offset) => {
        if (i < store.size) store.write(i, out, offset);
        else out.set(encoded.data.subarray(encoded.offsets[i - store.size]! * this.dim, encoded.offsets[i - store.size + 1]! * this.dim), offset);
      },
    };
    return { source, items: slots, matrix: (i) => (slots[i]! < store.size ? store.matrix(slots[i]!) : sliceItem(encoded, slots[i]! - store.size)) };
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
