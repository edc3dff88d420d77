import { maxSim, truncateTokens } from '@quarry/colbert';
import { InputError, checkOptions, docText, isBlankDoc, throwIfAborted, type Doc, type Hit, type Query, type RaggedMatrix, type Retriever, type TokenEncoder } from '@quarry/core';
import { pgAddDocsOptionsSchema, pgColbertRetrieverOptionsSchema } from './options.js';
import { docHash, type AddDocsOptions, type PgSearchOptions } from './dense-retriever.js';
import { topHits, type PgVectorStore } from './store.js';

export interface PgColbertRetrieverOptions {
  /** Name reported by the retriever (default `'colbert-pg'`). */
  name?: string;
  /** Matryoshka token dimension (a prefix, re-normalised); must equal the store's dim. Default: the store's. */
  dim?: number;
  /** Nearest token vectors fetched per query token (default 64). */
  candidatesPerToken?: number;
  /** HNSW search list for the per-token searches (default 64; raised to candidatesPerToken). */
  efSearch?: number;
  /** Exact per-token search (no HNSW). */
  exact?: boolean;
  /** Texts per encoder call (default 32). */
  batchSize?: number;
}

/**
 * Late interaction over Postgres. Token vectors live in `<table>_tokens` (one row per
 * token, HNSW-indexed); a query is answered in two steps, as PLAID does with centroids:
 * (1) candidates: for every query token, the `candidatesPerToken` nearest document tokens
 * (pgvector kNN, one LATERAL statement for all query tokens) name the candidate documents;
 * (2) exact MaxSim in Quarry (`@quarry/colbert`'s kernel) over all token vectors of the
 * candidates, read back in one statement. Step 2 is exact; recall depends on step 1.
 */
export class PgColbertRetriever implements Retriever {
  readonly name: string;
  readonly dim: number;
  readonly candidatesPerToken: number;
  readonly efSearch: number;
  readonly exact: boolean;
  readonly batchSize: number;

  constructor(
    readonly encoder: TokenEncoder,
    readonly store: PgVectorStore,
    options: PgColbertRetrieverOptions = {},
  ) {
    checkOptions(pgColbertRetrieverOptionsSchema, options, 'PgColbertRetriever options');
    if (store.mode !== 'colbert') throw new InputError(`PgColbertRetriever needs a colbert store; ${store.names.table} is a ${store.mode} store.`);
    this.dim = options.dim ?? store.dim;
    if (this.dim !== store.dim) throw new InputError(`dim ${this.dim} differs from the store's ${store.dim}; open the store with dim ${this.dim} or use dim ${store.dim}.`);
    if (this.dim > encoder.dim) throw new InputError(`dim ${this.dim} exceeds the token encoder's ${encoder.dim}.`);
    this.name = options.name ?? 'colbert-pg';
    this.candidatesPerToken = options.candidatesPerToken ?? 64;
    this.efSearch = options.efSearch ?? 64;
    this.exact = options.exact ?? false;
    this.batchSize = options.batchSize ?? 32;
  }

  /** Encodes documents into token vectors and upserts them (documents + tokens, per batch one transaction). */
  async addDocs(docs: Iterable<Doc> | AsyncIterable<Doc>, options: AddDocsOptions = {}): Promise<number> {
    checkOptions(pgAddDocsOptionsSchema, options, 'PgColbertRetriever.addDocs options');
    const batchSize = options.batchSize ?? this.batchSize;
    let done = 0;
    let batch: Doc[] = [];
    const flush = async (): Promise<void> => {
      throwIfAborted(options.signal, 'ColBERT indexing');
      // A document with nothing to match (core's isBlankDoc) is stored with no token vectors: no candidate, never returned.
      const blank = batch.map((d) => isBlankDoc(d));
      const kept = batch.filter((_, i) => !blank[i]);
      const encoded = kept.length > 0 ? await this.#encode(kept.map(docText), 'document', options.signal) : { dim: this.dim, offsets: new Int32Array(1), data: new Float32Array(0) };
      const tokens = kept.length === batch.length ? encoded : withEmptyItems(encoded, blank);
      await this.store.upsertTokens(
        batch.map((d) => d.id),
        tokens,
        { metas: batch.map((d) => d.meta), hashes: batch.map(docHash), ...(options.signal ? { signal: options.signal } : {}) },
      );
      done += batch.length;
      batch = [];
      options.onProgress?.({ phase: 'encode', done, total: undefined });
    };
    for await (const doc of docs) {
      if (typeof doc?.id !== 'string' || typeof doc.text !== 'string') throw new InputError('Each document needs a string id and a string text.');
      batch.push(doc);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
    return done;
  }

  async search(query: Query | string, options: PgSearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: PgSearchOptions = {}): Promise<Hit[][]> {
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k <= 0) throw new InputError(`k must be a positive integer, got ${String(k)}.`);
    const out: Hit[][] = [];
    for (const query of queries) {
      throwIfAborted(options.signal, 'search');
      const q = await this.#encode([typeof query === 'string' ? query : query.text], 'query', options.signal);
      let candidates = await this.store.tokenCandidates(q, 0, this.candidatesPerToken, {
        ...(options.where ? { where: options.where } : {}),
        efSearch: options.efSearch ?? this.efSearch,
        exact: options.exact ?? this.exact,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (options.filter) candidates = candidates.filter(options.filter);
      const docs = await this.store.tokenVectors(candidates, options.signal ? { signal: options.signal } : {});
      const scores = new Float64Array(candidates.length);
      for (let i = 0; i < candidates.length; i++) scores[i] = maxSim(q, 0, docs, i);
      out.push(topHits(candidates, scores, k));
    }
    return out;
  }

  async #encode(texts: string[], role: 'query' | 'document', signal: AbortSignal | undefined): Promise<RaggedMatrix> {
    const m = await this.encoder.encodeTokens(texts, signal ? { role, signal } : { role });
    return this.dim === m.dim ? m : truncateTokens(m, this.dim);
  }
}

/** `m` (one item per non-blank doc) widened to one item per doc, blank docs holding no tokens. */
function withEmptyItems(m: RaggedMatrix, blank: readonly boolean[]): RaggedMatrix {
  const offsets = new Int32Array(blank.length + 1);
  let item = 0;
  blank.forEach((b, i) => {
    offsets[i + 1] = b ? offsets[i]! : m.offsets[++item]!;
  });
  return { dim: m.dim, offsets, data: m.data };
}
