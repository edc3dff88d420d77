import { createHash } from 'node:crypto';
import {
  DimensionMismatchError,
  InputError,
  checkOptions,
  docText,
  isBlankDoc,
  saveIndexDir,
  throwIfAborted,
  type Doc,
  type DocScorer,
  type Encoder,
  type Hit,
  type Matrix,
  type Persistable,
  type ProgressCallback,
  type Query,
  type Retriever,
  type SearchOptions,
} from '@quarry/core';
import { pgAddDocsOptionsSchema, pgDenseRetrieverOptionsSchema, pgSyncOptionsSchema } from './options.js';
import { CollectionMismatchError } from './errors.js';
import type { MetaFilter } from './filter.js';
import { decodeVectorBinary } from './sql.js';
import type { PgVectorStore } from './store.js';

export const DENSE_POINTER_FORMAT = 'quarry-pgvector-dense';
export const DENSE_POINTER_VERSION = 1;

/** Core's search options plus what Postgres can do besides. */
export interface PgSearchOptions extends SearchOptions {
  /** Metadata filter evaluated in SQL (see `MetaFilter`). */
  where?: MetaFilter;
  /** `hnsw.ef_search` for this call (default: the retriever's). */
  efSearch?: number;
  /** Ignore the HNSW index: exact search by sequential scan. */
  exact?: boolean;
}

export interface PgDenseRetrieverOptions {
  /** Name reported by the retriever (default `'dense-pg'`). */
  name?: string;
  /** Texts per encoder call (default 64). */
  batchSize?: number;
  /** HNSW search list (default 40; raised to k per query). */
  efSearch?: number;
  /** Always search exactly (no HNSW), e.g. for a store without an index. */
  exact?: boolean;
}

export interface AddDocsOptions {
  batchSize?: number;
  signal?: AbortSignal;
  /** `{ phase: 'encode', done, total }` after every batch. */
  onProgress?: ProgressCallback;
}

export interface SyncOptions extends AddDocsOptions {
  /**
   * The collection's name. A store remembers the collection it holds (name, corpus
   * fingerprint, size); syncing another one into it is refused unless `replace` is set.
   */
  collection?: string;
  /** Replace whatever collection the store holds with these documents (its other rows are deleted). */
  replace?: boolean;
}

/** What a store records about the collection it holds (setting `collection`). */
export interface StoredCollection {
  name: string | null;
  /** `corpusFingerprint` of the collection's ids. */
  fingerprint: string;
  documents: number;
}

export interface SyncResult {
  /** Documents encoded and written. */
  loaded: number;
  /** Documents already in the store with the same text (a resumed or repeated load). */
  skipped: number;
  /** Rows deleted because their id is not in the collection. */
  removed: number;
}

/** Fingerprint of a document's content as stored in `source_hash`: text, title and meta. */
export function docHash(doc: Doc): string {
  return createHash('sha256')
    .update(docText(doc))
    .update('\u0000')
    .update(JSON.stringify(doc.meta ?? {}))
    .digest('hex')
    .slice(0, 32);
}

/** Fingerprint of a corpus: its document ids, in any order (content changes are updates, not another corpus). */
export function corpusFingerprint(ids: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const id of [...ids].sort()) hash.update(id).update('\u0000');
  return hash.digest('hex').slice(0, 32);
}

/**
 * The table prefix of a named collection: `<table>_<name>`, the name lowercased with other
 * characters as `_`, cut (with a hash suffix) to stay a valid 40-character prefix.
 */
export function collectionTable(table: string, collection: string): string {
  const slug =
    collection
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'collection';
  const room = 40 - table.length - 1;
  if (room < 10) throw new InputError(`Table prefix "${table}" is too long to add a collection name; use a prefix of at most 29 characters.`);
  const name = slug.length <= room ? slug : `${slug.slice(0, room - 9)}_${createHash('sha256').update(collection).digest('hex').slice(0, 8)}`;
  return `${table}_${name}`;
}

const PROBE = ['Quarry encoder fingerprint: the quick brown fox jumps over the lazy dog.', 'p53 mutations and cancer risk'];

/** A fingerprint of what an encoder computes (its vectors for fixed probe texts), so a store can tell encoders apart. */
export async function encoderFingerprint(encoder: Encoder): Promise<string> {
  const m = await encoder.encode(PROBE, { role: 'document' });
  const hash = createHash('sha256').update(String(m.cols));
  // Rounded to 5 decimals: the same model on another CPU or thread count may differ in the last bits.
  for (let i = 0; i < m.rows * m.cols; i++) hash.update(`${Math.round(m.data[i]! * 1e5)},`);
  return hash.digest('hex').slice(0, 32);
}

/**
 * A core `Retriever` over an `Encoder` and a dense `PgVectorStore`: documents are
 * encoded here (role `'document'`, title + text) and stored in Postgres; queries are
 * encoded here and answered by pgvector (HNSW or exact), one SQL statement per batch.
 */
export class PgDenseRetriever implements Retriever, DocScorer, Persistable {
  readonly name: string;
  readonly batchSize: number;
  readonly efSearch: number;
  readonly exact: boolean;

  constructor(
    readonly encoder: Encoder,
    readonly store: PgVectorStore,
    options: PgDenseRetrieverOptions = {},
  ) {
    checkOptions(pgDenseRetrieverOptionsSchema, options, 'PgDenseRetriever options');
    if (store.mode !== 'dense') throw new InputError(`PgDenseRetriever needs a dense store; ${store.names.table} is a ${store.mode} store.`);
    if (encoder.dim !== store.dim) throw new DimensionMismatchError(store.dim, encoder.dim, `encoder output for store ${store.names.schema}.${store.names.table}`);
    this.name = options.name ?? 'dense-pg';
    this.batchSize = positiveInt(options.batchSize ?? 64, 'batchSize');
    this.efSearch = positiveInt(options.efSearch ?? 40, 'efSearch');
    this.exact = options.exact ?? false;
  }

  /**
   * Makes the store hold exactly `docs`: documents whose stored content hash matches are
   * skipped (so re-running a load that died half way only encodes what is missing),
   * changed and new ones are encoded and upserted, and rows of ids not in `docs` are
   * deleted. Returns the counts.
   *
   * The store records the collection it holds (`options.collection` and the fingerprint of
   * its ids). Syncing another collection (another name, or without names another set of
   * ids) into a store that has rows is refused with `CollectionMismatchError` before
   * anything is written, unless `replace: true`; so one corpus never silently deletes another.
   */
  async sync(docs: Iterable<Doc> | AsyncIterable<Doc>, options: SyncOptions = {}): Promise<SyncResult> {
    checkOptions(pgSyncOptionsSchema, options, 'PgDenseRetriever.sync options');
    const stored = new Map<string, string | null>();
    for await (const e of this.store.entries()) stored.set(e.id, e.hash);
    throwIfAborted(options.signal, 'dense indexing');
    const seen = new Set<string>();
    const todo: Doc[] = [];
    let skipped = 0;
    for await (const doc of docs) {
      checkDoc(doc, seen.size);
      if (seen.has(doc.id)) throw new InputError(`Document id "${doc.id}" appears twice in the collection.`, { id: doc.id });
      seen.add(doc.id);
      if (stored.get(doc.id) === docHash(doc)) skipped++;
      else todo.push(doc);
    }
    const stale = [...stored.keys()].filter((id) => !seen.has(id));
    const collection: StoredCollection = { name: options.collection ?? null, fingerprint: corpusFingerprint(seen), documents: seen.size };
    if (stored.size > 0 && !options.replace) this.#checkCollection((await this.store.getSetting('collection')) as StoredCollection | undefined, collection, stored.size, stale.length);
    // Recorded before writing, so a load that dies half way resumes as the same collection.
    await this.store.setSetting('collection', collection);
    const removed = stale.length ? await this.store.delete(stale) : 0;
    const loaded = await this.addDocs(todo, { batchSize: options.batchSize, signal: options.signal, onProgress: options.onProgress });
    return { loaded, skipped, removed };
  }

  #checkCollection(recorded: StoredCollection | undefined, incoming: StoredCollection, storedRows: number, removing: number): void {
    const label = `${this.store.names.schema}.${this.store.names.table}`;
    const describe = (c: StoredCollection) => `${c.name === null ? 'an unnamed collection' : `collection "${c.name}"`} (${c.documents} documents)`;
    let why: string | undefined;
    if (!recorded) {
      // Rows written before collections were recorded (or by addDocs): refuse only what would delete them.
      if (removing > 0) why = `it holds ${storedRows} documents, ${removing} of which are not in these ${incoming.documents}`;
    } else if (recorded.name !== null && incoming.name !== null) {
      if (recorded.name !== incoming.name) why = `it holds ${describe(recorded)}, not "${incoming.name}"`;
    } else if (recorded.fingerprint !== incoming.fingerprint) {
      why = `it holds ${describe(recorded)} and these ${incoming.documents} documents are another corpus (other ids; ${removing} stored rows would be deleted)`;
    }
    if (!why) return;
    throw new CollectionMismatchError(
      label,
      { name: recorded?.name ?? null, documents: storedRows },
      `Refusing to sync into store ${label}: ${why}. Pass replace: true (--store-replace) to replace it, or give this corpus its own collection (collection option, --store-collection NAME, or another table).`,
    );
  }

  /**
   * Encodes and upserts documents in batches (their `meta` goes to the jsonb column, a
   * content hash to `source_hash`). The next batch is encoded while the previous one is
   * written. Batches written stay written if a later one fails. Returns the number written.
   */
  async addDocs(docs: Iterable<Doc> | AsyncIterable<Doc>, options: AddDocsOptions = {}): Promise<number> {
    checkOptions(pgAddDocsOptionsSchema, options, 'PgDenseRetriever.addDocs options');
    const batchSize = positiveInt(options.batchSize ?? this.batchSize, 'batchSize');
    const { signal, onProgress } = options;
    const total = Array.isArray(docs) ? docs.length : undefined;
    let done = 0;
    let batch: Doc[] = [];
    let writing: Promise<void> | undefined;
    const flush = async (): Promise<void> => {
      throwIfAborted(signal, 'dense indexing');
      const current = batch;
      batch = [];
      const vectors = await this.#encode(current.map(docText), 'document', signal);
      // Nothing to match (core's isBlankDoc, or a zero vector: no known token): stored without an embedding, never returned.
      const empty = current.map((d, r) => isBlankDoc(d) || isZeroRow(vectors, r));
      if (writing) await writing;
      writing = this.store
        .upsert(
          current.map((d) => d.id),
          vectors,
          { metas: current.map((d) => d.meta), hashes: current.map(docHash), empty, ...(signal ? { signal } : {}) },
        )
        .then(() => {
          done += current.length;
          onProgress?.({ phase: 'encode', done, total });
        });
      // Surface a write failure at the next await even if no further batch comes.
      writing.catch(() => {});
    };
    let index = 0;
    for await (const doc of docs) {
      checkDoc(doc, index++);
      batch.push(doc);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
    if (writing) await writing;
    return done;
  }

  /** Removes documents; returns how many were stored. */
  async delete(ids: string | readonly string[]): Promise<number> {
    return this.store.delete(ids);
  }

  async search(query: Query | string, options: PgSearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: PgSearchOptions = {}): Promise<Hit[][]> {
    const texts = queries.map((q) => (typeof q === 'string' ? q : q.text));
    const results: Hit[][] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      throwIfAborted(options.signal, 'search');
      const vectors = await this.#encode(texts.slice(start, start + this.batchSize), 'query', options.signal);
      // A query with no known token encodes to zeros: it matches nothing, so it gets no hits.
      const live = Array.from({ length: vectors.rows }, (_, r) => r).filter((r) => !isZeroRow(vectors, r));
      const data = new Float32Array(live.length * vectors.cols);
      live.forEach((r, i) => data.set(vectors.data.subarray(r * vectors.cols, (r + 1) * vectors.cols), i * vectors.cols));
      const found = live.length
        ? await this.store.searchBatch(
            { rows: live.length, cols: vectors.cols, data },
            {
              ...options,
              efSearch: options.efSearch ?? this.efSearch,
              exact: options.exact ?? this.exact,
            },
          )
        : [];
      const byRow = new Map(live.map((r, i) => [r, found[i]!]));
      for (let r = 0; r < vectors.rows; r++) results.push(byRow.get(r) ?? []);
    }
    return results;
  }

  /** Scores given documents on the search scale (cosine or inner product); unknown ids score NaN. */
  async scoreDocs(query: Query | string, ids: readonly string[]): Promise<Float64Array> {
    const text = typeof query === 'string' ? query : query.text;
    const q = (await this.#encode([text], 'query', undefined)).data;
    if (this.store.metric === 'cosine') {
      let sq = 0;
      for (let j = 0; j < q.length; j++) sq += q[j]! * q[j]!;
      const norm = Math.sqrt(sq);
      if (norm > 0) for (let j = 0; j < q.length; j++) q[j]! /= norm;
    }
    const dim = this.store.dim;
    const vectors = new Map<string, Float32Array>();
    if (ids.length > 0) {
      const r = await this.store.connection.query<{ id: string; embedding: Buffer }>(
        'scoring documents',
        `SELECT id, vector_send(embedding) AS embedding FROM ${this.store.names.docs} WHERE id = ANY($1::text[]) AND embedding IS NOT NULL`,
        [ids],
      );
      for (const row of r.rows) {
        const v = new Float32Array(dim);
        decodeVectorBinary(row.embedding, v, 0, dim);
        vectors.set(row.id, v);
      }
    }
    return Float64Array.from(ids, (id) => {
      const v = vectors.get(id);
      if (!v) return Number.NaN;
      let s = 0;
      for (let j = 0; j < dim; j++) s += q[j]! * v[j]!;
      return s;
    });
  }

  /**
   * Writes a pointer to the store (no vectors: they live in Postgres): the URL without
   * credentials, schema, table, dimension, row count and encoder fingerprint, so a
   * pipeline saved with it reopens the same store and notices when it changed.
   */
  async save(dir: string): Promise<void> {
    const meta = {
      name: this.name,
      url: redactUrl(this.store.connection.options.url),
      schema: this.store.names.schema,
      table: this.store.names.table,
      dim: this.store.dim,
      count: await this.store.count(),
      encoder: await encoderFingerprint(this.encoder),
      schemaVersion: this.store.version,
    };
    await saveIndexDir(dir, { format: DENSE_POINTER_FORMAT, version: DENSE_POINTER_VERSION, meta }, async () => {});
  }

  async #encode(texts: string[], role: 'query' | 'document', signal: AbortSignal | undefined): Promise<Matrix> {
    const m = await this.encoder.encode(texts, signal ? { role, signal } : { role });
    if (!m || !(m.data instanceof Float32Array) || m.rows !== texts.length) {
      throw new InputError(`The encoder returned ${m?.rows ?? 'no'} rows for ${texts.length} texts; an Encoder must return one row per text.`);
    }
    if (m.cols !== this.store.dim) throw new DimensionMismatchError(this.store.dim, m.cols, 'encoder output');
    return m;
  }
}

/** The URL with any password removed (what may be written to disk or logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function checkDoc(doc: Doc, index: number): void {
  if (typeof doc?.id !== 'string' || doc.id.length === 0 || typeof doc.text !== 'string') throw new InputError('Each document needs a non-empty string id and a string text.', { index });
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new InputError(`${name} must be a positive integer, got ${String(value)}.`);
  return value;
}

function isZeroRow(m: Matrix, r: number): boolean {
  for (let j = r * m.cols; j < (r + 1) * m.cols; j++) if (m.data[j] !== 0) return false;
  return true;
}
