import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DimensionMismatchError, InputError, TopK, parseConfig, throwIfAborted, z, type Hit, type Matrix, type ProgressCallback, type RaggedMatrix } from '@quarry/core';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { connectionOptionsSchema, PgConnection, type Settings } from './connection.js';
import { compileFilter, type MetaFilter } from './filter.js';
import type { RetryOptions } from './retry.js';
import { ensureSchema, SCHEMA_VERSION, storeNames, type StoreConfig, type StoreNames } from './schema.js';
import { CopyBinaryWriter, checkIdentifier, decodeVectorBinary, inlineInt, vectorLiteral } from './sql.js';

export const storeOptionsSchema = connectionOptionsSchema
  .extend({
    /** Postgres schema (namespace) holding the tables (default `public`). */
    schema: z.string().default('public'),
    /** Table-name prefix: the store is `<table>_docs`, `<table>_tokens`, `<table>_config`, `<table>_schema_version`. */
    table: z.string().default('quarry'),
    dim: z.number().int().min(1).max(16_000),
    /** `cosine` (vectors normalised here, compared by inner product) or `ip`. */
    metric: z.enum(['cosine', 'ip']).default('cosine'),
    /** `dense`: one vector per document; `colbert`: one per token, in `<table>_tokens`. */
    mode: z.enum(['dense', 'colbert']).default('dense'),
    /** Create the store / apply pending migrations (default true); false fails on an older schema. */
    migrate: z.boolean().default(true),
    /** Rows per COPY batch (one transaction each; default 500). ColBERT mode counts documents. */
    batchSize: z.number().int().min(1).max(100_000).default(500),
    /** Statement timeout for HNSW index builds (default 0 = none). */
    indexTimeoutMs: z.number().int().nonnegative().default(0),
    /** Queries sent in one search statement (default 32); 1 sends plain `ORDER BY ... LIMIT` statements (Citus pushes those down to the shards). */
    queriesPerStatement: z.number().int().min(1).max(10_000).default(32),
  })
  .strict();

export type PgVectorStoreOptions = z.input<typeof storeOptionsSchema> & {
  /** Called before each retry of a transient failure. */
  onRetry?: RetryOptions['onRetry'];
  /** Stop migrations at this version (for testing upgrade paths). */
  targetVersion?: number;
  signal?: AbortSignal;
};

/** HNSW parameters, as pgvector names them. */
export interface HnswParams {
  /** Graph degree (pgvector default 16; 2..100). */
  m?: number;
  /** Build-time candidate list (pgvector default 64; >= 2m). */
  efConstruction?: number;
  /**
   * `maintenance_work_mem` for the build, e.g. `'512MB'` (default: the server's). pgvector
   * builds the graph in memory while it fits and falls back to a much slower build when it
   * does not (it says so in a NOTICE).
   */
  maintenanceWorkMem?: string;
}

export interface StoreSearchOptions {
  /** Hits per query (default 10). */
  k?: number;
  /** Metadata filter, evaluated by Postgres. */
  where?: MetaFilter;
  /** Id predicate (the core contract's filter), applied here over a growing candidate window. */
  filter?: (id: string) => boolean;
  /** HNSW search list (`hnsw.ef_search`, raised to k, at most 1000; default 40 as pgvector's). */
  efSearch?: number;
  /** Exact search: a sequential scan that ignores the HNSW index. */
  exact?: boolean;
  signal?: AbortSignal;
}

export interface UpsertOptions {
  signal?: AbortSignal;
  /** After each committed batch: `{ phase: 'load', done, total }`. */
  onProgress?: ProgressCallback;
  /** Per-row JSON metadata (stored as jsonb). */
  metas?: readonly (Record<string, unknown> | undefined)[];
  /** Per-row fingerprint of the source the vector came from (lets a resumed load skip unchanged rows). */
  hashes?: readonly (string | undefined)[];
  /**
   * Per-row: true for a document with nothing to match (empty text). Its row is stored with a
   * NULL embedding (its vector is ignored): it counts, syncs and deletes like any row, but no
   * search returns it.
   */
  empty?: readonly boolean[];
}

const EF_SEARCH_MAX = 1000;

/**
 * Vectors in Postgres with pgvector, reached through `pg`: a versioned schema, batched
 * idempotent COPY loads, HNSW indexes, kNN with metadata filters, deletes and updates,
 * and ColBERT token vectors. Every call retries transient failures (see `PgConnection`).
 */
export class PgVectorStore {
  readonly names: StoreNames;
  readonly dim: number;
  readonly metric: 'cosine' | 'ip';
  readonly mode: 'dense' | 'colbert';
  readonly batchSize: number;
  readonly indexTimeoutMs: number;
  readonly queriesPerStatement: number;
  /** Schema version the store is at (always the latest after a migrating open). */
  readonly version: number;
  /** Whether this open created the tables. */
  readonly created: boolean;

  private constructor(
    readonly connection: PgConnection,
    names: StoreNames,
    config: StoreConfig,
    resolved: { batchSize: number; indexTimeoutMs: number; queriesPerStatement: number; version: number; created: boolean },
  ) {
    this.names = names;
    this.dim = config.dim;
    this.metric = config.metric;
    this.mode = config.mode;
    this.batchSize = resolved.batchSize;
    this.indexTimeoutMs = resolved.indexTimeoutMs;
    this.queriesPerStatement = resolved.queriesPerStatement;
    this.version = resolved.version;
    this.created = resolved.created;
  }

  /**
   * Connects, creates or migrates the schema and checks it against `dim`, `metric` and
   * `mode`. Throws `SchemaVersionError` (code INDEX_VERSION) for a store newer than this
   * package or older with `migrate: false`, `DimensionMismatchError` when the stored
   * dimension differs, `ConfigError` for invalid options.
   */
  static async open(options: PgVectorStoreOptions): Promise<PgVectorStore> {
    const { onRetry, targetVersion, signal, ...rest } = options;
    const o = parseConfig(storeOptionsSchema, rest, 'PgVectorStore options');
    checkIdentifier(o.schema, 'schema');
    checkIdentifier(o.table, 'table');
    const names = storeNames(o.schema, o.table);
    const connection = new PgConnection(o, onRetry);
    try {
      const { config, version, created } = await ensureSchema(
        connection,
        names,
        { dim: o.dim, metric: o.metric, mode: o.mode },
        {
          migrate: o.migrate,
          ...(targetVersion !== undefined ? { targetVersion } : {}),
          ...(signal ? { signal } : {}),
        },
      );
      return new PgVectorStore(connection, names, config, { batchSize: o.batchSize, indexTimeoutMs: o.indexTimeoutMs, queriesPerStatement: o.queriesPerStatement, version, created });
    } catch (error) {
      await connection.end();
      throw error;
    }
  }

  /** The latest schema version this package writes. */
  static readonly SCHEMA_VERSION = SCHEMA_VERSION;

  /** Documents in the store. */
  async count(): Promise<number> {
    const r = await this.connection.query<{ n: string }>('counting documents', `SELECT count(*) AS n FROM ${this.names.docs}`);
    return Number(r.rows[0]!.n);
  }

  /** Token vectors in the store (ColBERT mode). */
  async tokenCount(): Promise<number> {
    const r = await this.connection.query<{ n: string }>('counting token vectors', `SELECT count(*) AS n FROM ${this.names.tokens}`);
    return Number(r.rows[0]!.n);
  }

  async has(id: string): Promise<boolean> {
    const r = await this.connection.query('looking up a document', `SELECT 1 FROM ${this.names.docs} WHERE id = $1`, [id]);
    return r.rowCount === 1;
  }

  /** Every id with its source hash (null when none was stored), in id order, read in pages. */
  async *entries(pageSize = 10_000): AsyncGenerator<{ id: string; hash: string | null }> {
    let after: string | null = null;
    for (;;) {
      const r: pg.QueryResult<{ id: string; source_hash: string | null }> = await this.connection.query(
        'listing documents',
        `SELECT id, source_hash FROM ${this.names.docs} WHERE $1::text IS NULL OR id > $1::text ORDER BY id COLLATE "C" LIMIT $2`,
        [after, pageSize],
      );
      for (const row of r.rows) yield { id: row.id, hash: row.source_hash };
      if (r.rows.length < pageSize) return;
      after = r.rows[r.rows.length - 1]!.id;
    }
  }

  /** The stored vector (normalised under cosine), or undefined. Dense mode. */
  async getVector(id: string): Promise<Float32Array | undefined> {
    const r = await this.connection.query<{ embedding: Buffer }>('reading a vector', `SELECT vector_send(embedding) AS embedding FROM ${this.names.docs} WHERE id = $1 AND embedding IS NOT NULL`, [
      id,
    ]);
    const row = r.rows[0];
    if (!row) return undefined;
    const out = new Float32Array(this.dim);
    decodeVectorBinary(row.embedding, out, 0, this.dim);
    return out;
  }

  /** Stored metadata of a document, or undefined. */
  async getMeta(id: string): Promise<Record<string, unknown> | undefined> {
    const r = await this.connection.query<{ meta: Record<string, unknown> }>('reading metadata', `SELECT meta FROM ${this.names.docs} WHERE id = $1`, [id]);
    return r.rows[0]?.meta;
  }

  /**
   * Adds or replaces one vector per id (dense mode), in batches of `batchSize`: each batch
   * is COPied (binary) into a temporary staging table and upserted into the store with
   * `INSERT ... ON CONFLICT (id) DO UPDATE` in one transaction. A batch is all or nothing
   * and repeating it changes nothing, so a batch cut off by a lost connection is simply
   * run again after the retry's reconnect: no duplicates, no loss. Returns rows written.
   */
  async upsert(ids: readonly string[], vectors: Matrix | readonly Float32Array[], options: UpsertOptions = {}): Promise<number> {
    this.#requireMode('dense', 'upsert');
    const rows = this.#checkRows(ids, vectors, options);
    const { signal, onProgress } = options;
    let done = 0;
    for (let start = 0; start < rows; start += this.batchSize) {
      throwIfAborted(signal, 'loading vectors');
      const end = Math.min(rows, start + this.batchSize);
      const writer = new CopyBinaryWriter();
      for (let r = start; r < end; r++) {
        const { data, offset } = rowOf(vectors, r, this.dim);
        writer.row(4).text(ids[r]!);
        if (options.empty?.[r]) writer.null();
        else writer.vector(data, offset, this.dim, this.#scale(data, offset, ids[r]!));
        writer.jsonb(options.metas?.[r] ?? {});
        const hash = options.hashes?.[r];
        if (hash === undefined) writer.null();
        else writer.text(hash);
      }
      const payload = writer.finish();
      const n = this.names;
      await this.connection.transaction(
        `loading vectors ${start}..${end - 1}`,
        async (client) => {
          await client.query(
            `CREATE TEMP TABLE IF NOT EXISTS ${n.stageDocs} (id text, embedding vector(${inlineInt(this.dim, 'dim', 1, 16_000)}), meta jsonb, source_hash text) ON COMMIT DELETE ROWS`,
          );
          await copyInto(client, `COPY ${n.stageDocs} (id, embedding, meta, source_hash) FROM STDIN (FORMAT binary)`, payload);
          await client.query(
            `INSERT INTO ${n.docs} (id, embedding, meta, source_hash, updated_at) SELECT id, embedding, meta, source_hash, now() FROM ${n.stageDocs}
             ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, meta = EXCLUDED.meta, source_hash = EXCLUDED.source_hash, updated_at = now()`,
          );
        },
        signal ? { signal } : {},
      );
      done = end;
      onProgress?.({ phase: 'load', done, total: rows });
    }
    return done;
  }

  /**
   * ColBERT mode: adds or replaces documents with their token vectors (item i of `tokens`
   * belongs to `ids[i]`). Per batch, in one transaction: the documents are upserted, their
   * old token rows deleted and the new ones COPied in, so a retried batch leaves exactly
   * one copy of every token.
   */
  async upsertTokens(ids: readonly string[], tokens: RaggedMatrix, options: UpsertOptions = {}): Promise<number> {
    this.#requireMode('colbert', 'upsertTokens');
    if (tokens.dim !== this.dim) throw new DimensionMismatchError(this.dim, tokens.dim, 'token vector');
    if (tokens.offsets.length !== ids.length + 1) throw new InputError(`Got ${ids.length} ids for ${tokens.offsets.length - 1} token matrices; pass one id per document.`);
    checkIds(ids);
    const { signal, onProgress } = options;
    const n = this.names;
    const dimSql = inlineInt(this.dim, 'dim', 1, 16_000);
    let done = 0;
    for (let start = 0; start < ids.length; start += this.batchSize) {
      throwIfAborted(signal, 'loading token vectors');
      const end = Math.min(ids.length, start + this.batchSize);
      const docs = new CopyBinaryWriter();
      const toks = new CopyBinaryWriter();
      for (let i = start; i < end; i++) {
        docs
          .row(3)
          .text(ids[i]!)
          .jsonb(options.metas?.[i] ?? {});
        const hash = options.hashes?.[i];
        if (hash === undefined) docs.null();
        else docs.text(hash);
        const t0 = tokens.offsets[i]!;
        const t1 = tokens.offsets[i + 1]!;
        for (let t = t0; t < t1; t++) {
          checkFinite(tokens.data, t * this.dim, this.dim, ids[i]!);
          toks
            .row(3)
            .text(ids[i]!)
            .int4(t - t0)
            .vector(tokens.data, t * this.dim, this.dim);
        }
      }
      const docPayload = docs.finish();
      const tokPayload = toks.finish();
      await this.connection.transaction(
        `loading token vectors of documents ${start}..${end - 1}`,
        async (client) => {
          await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${n.stageDocs} (id text, embedding vector(${dimSql}), meta jsonb, source_hash text) ON COMMIT DELETE ROWS`);
          await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${n.stageTokens} (doc_id text, pos int4, embedding vector(${dimSql})) ON COMMIT DELETE ROWS`);
          await copyInto(client, `COPY ${n.stageDocs} (id, meta, source_hash) FROM STDIN (FORMAT binary)`, docPayload);
          await copyInto(client, `COPY ${n.stageTokens} (doc_id, pos, embedding) FROM STDIN (FORMAT binary)`, tokPayload);
          await client.query(
            `INSERT INTO ${n.docs} (id, meta, source_hash, updated_at) SELECT id, meta, source_hash, now() FROM ${n.stageDocs}
             ON CONFLICT (id) DO UPDATE SET meta = EXCLUDED.meta, source_hash = EXCLUDED.source_hash, updated_at = now()`,
          );
          await client.query(`DELETE FROM ${n.tokens} t USING ${n.stageDocs} s WHERE t.doc_id = s.id`);
          await client.query(`INSERT INTO ${n.tokens} (doc_id, pos, embedding) SELECT doc_id, pos, embedding FROM ${n.stageTokens}`);
        },
        signal ? { signal } : {},
      );
      done = end;
      onProgress?.({ phase: 'load', done, total: ids.length });
    }
    return done;
  }

  /** Replaces the metadata of existing documents (vectors untouched); returns how many existed. */
  async updateMeta(id: string, meta: Record<string, unknown>): Promise<boolean> {
    const r = await this.connection.query('updating metadata', `UPDATE ${this.names.docs} SET meta = $2::jsonb, updated_at = now() WHERE id = $1`, [id, JSON.stringify(meta)]);
    return r.rowCount === 1;
  }

  /** Deletes documents (and their token vectors); returns how many existed. */
  async delete(ids: string | readonly string[]): Promise<number> {
    const list = typeof ids === 'string' ? [ids] : [...ids];
    let removed = 0;
    for (let start = 0; start < list.length; start += 10_000) {
      const chunk = list.slice(start, start + 10_000);
      const r = await this.connection.query('deleting documents', `DELETE FROM ${this.names.docs} WHERE id = ANY($1::text[])`, [chunk]);
      removed += r.rowCount ?? 0;
    }
    return removed;
  }

  /** Deletes every document. */
  async clear(): Promise<void> {
    await this.connection.query('clearing the store', `TRUNCATE ${this.names.docs} CASCADE`);
  }

  /** Drops every table of the store (documents, tokens, config, version history). */
  async drop(): Promise<void> {
    const n = this.names;
    await this.connection.transaction('dropping the store', async (client) => {
      for (const t of [n.tokens, n.docs, n.config, n.versions]) await client.query(`DROP TABLE IF EXISTS ${t} CASCADE`);
    });
  }

  /** A value kept in the store's config table (e.g. the encoder fingerprint a plugin records). */
  async getSetting(key: string): Promise<unknown> {
    const r = await this.connection.query<{ value: unknown }>('reading store config', `SELECT value FROM ${this.names.config} WHERE key = $1`, [`user:${key}`]);
    return r.rows[0]?.value;
  }

  async setSetting(key: string, value: unknown): Promise<void> {
    await this.connection.query('writing store config', `INSERT INTO ${this.names.config} (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [
      `user:${key}`,
      JSON.stringify(value),
    ]);
  }

  /**
   * Builds the HNSW index (inner product; cosine vectors are stored normalised) on the
   * document vectors, or on the token vectors in ColBERT mode. An index with other
   * parameters is dropped and rebuilt; one with the same parameters is kept. Build after
   * a bulk load: inserting into an indexed table is much slower.
   */
  async createIndex(params: HnswParams = {}, options: { signal?: AbortSignal } = {}): Promise<{ built: boolean; m: number; efConstruction: number }> {
    const m = params.m ?? 16;
    const efc = params.efConstruction ?? 64;
    inlineInt(m, 'm', 2, 100);
    inlineInt(efc, 'efConstruction', 4, 1000);
    if (efc < 2 * m) throw new InputError(`efConstruction must be at least 2 * m (${2 * m}), got ${efc}.`);
    const mem = params.maintenanceWorkMem;
    if (mem !== undefined && !/^[1-9][0-9]{0,9}(kB|MB|GB)$/.test(mem)) throw new InputError(`maintenanceWorkMem must look like '512MB' (a number with kB, MB or GB), got ${JSON.stringify(mem)}.`);
    const n = this.names;
    const [indexName, table] = this.mode === 'dense' ? [n.hnswDocs, n.docs] : [n.hnswTokens, n.tokens];
    const existing = await this.indexInfo();
    if (existing && existing.m === m && existing.efConstruction === efc) return { built: false, m, efConstruction: efc };
    await this.connection.transaction(
      `building the HNSW index ${indexName}`,
      async (client) => {
        await client.query(`DROP INDEX IF EXISTS ${qualifiedIndex(n.schema, indexName)}`);
        await client.query(
          `CREATE INDEX "${indexName}" ON ${table} USING hnsw (embedding vector_ip_ops) WITH (m = ${inlineInt(m, 'm', 2, 100)}, ef_construction = ${inlineInt(efc, 'efConstruction', 4, 1000)})`,
        );
      },
      {
        settings: { statement_timeout: String(this.indexTimeoutMs), ...(mem !== undefined ? { maintenance_work_mem: mem } : {}) },
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    return { built: true, m, efConstruction: efc };
  }

  /** The HNSW index's parameters, or undefined when there is none. */
  async indexInfo(): Promise<{ name: string; m: number; efConstruction: number } | undefined> {
    const n = this.names;
    const name = this.mode === 'dense' ? n.hnswDocs : n.hnswTokens;
    const r = await this.connection.query<{ opts: string[] | null }>('reading index parameters', 'SELECT c.reloptions AS opts FROM pg_class c WHERE c.oid = to_regclass($1)', [
      qualifiedIndex(n.schema, name),
    ]);
    const row = r.rows[0];
    if (!row) return undefined;
    const opts = new Map((row.opts ?? []).map((o) => o.split('=') as [string, string]));
    return { name, m: Number(opts.get('m') ?? 16), efConstruction: Number(opts.get('ef_construction') ?? 64) };
  }

  async dropIndex(): Promise<void> {
    const n = this.names;
    await this.connection.query('dropping the HNSW index', `DROP INDEX IF EXISTS ${qualifiedIndex(n.schema, this.mode === 'dense' ? n.hnswDocs : n.hnswTokens)}`);
  }

  /** Nearest documents to one query vector (dense mode). */
  async search(query: Float32Array, options: StoreSearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  /**
   * Nearest documents for each query row, best first, scores on the inner-product
   * (cosine) scale. All queries of a call go to Postgres in one statement (a LATERAL join
   * over the query vectors), so a batch costs one round trip.
   */
  async searchBatch(queries: Matrix | readonly Float32Array[], options: StoreSearchOptions = {}): Promise<Hit[][]> {
    this.#requireMode('dense', 'search');
    const k = checkK(options.k);
    const rows = countRows(queries, this.dim, 'query vector');
    if (rows === 0) return [];
    const literals: string[] = [];
    for (let r = 0; r < rows; r++) {
      const { data, offset } = rowOf(queries, r, this.dim);
      literals.push(this.#queryLiteral(data, offset));
    }
    const filter = options.filter;
    if (filter !== undefined && typeof filter !== 'function') throw new InputError('filter must be a function (id: string) => boolean.');
    if (!filter) return this.#knn(literals, k, options);
    // An id predicate can't run in SQL: widen the window until k hits pass or the store is exhausted.
    const out: Hit[][] = new Array(rows);
    let pending = literals.map((_, i) => i);
    let window = Math.max(2 * k, 32);
    const total = await this.count();
    while (pending.length > 0) {
      const lists = await this.#knn(
        pending.map((i) => literals[i]!),
        Math.min(window, total),
        options,
      );
      const next: number[] = [];
      pending.forEach((qi, j) => {
        const passed = lists[j]!.filter((h) => filter(h.id));
        if (passed.length >= k || lists[j]!.length < Math.min(window, total) || window >= total) out[qi] = passed.slice(0, k);
        else next.push(qi);
      });
      pending = next;
      window *= 4;
    }
    return out;
  }

  /**
   * ColBERT candidate generation: for each query token, the `perToken` nearest token
   * vectors (HNSW unless `exact`), restricted by `where`; returns the distinct documents.
   */
  async tokenCandidates(queryTokens: RaggedMatrix, qi: number, perToken: number, options: Omit<StoreSearchOptions, 'k' | 'filter'> = {}): Promise<string[]> {
    this.#requireMode('colbert', 'tokenCandidates');
    if (queryTokens.dim !== this.dim) throw new DimensionMismatchError(this.dim, queryTokens.dim, 'query token vector');
    const t0 = queryTokens.offsets[qi]!;
    const t1 = queryTokens.offsets[qi + 1]!;
    if (t1 === undefined) throw new InputError(`query index ${qi} is out of range.`);
    if (t1 === t0) return [];
    const literals: string[] = [];
    for (let t = t0; t < t1; t++) literals.push(vectorLiteral(queryTokens.data, t * this.dim, this.dim));
    const n = this.names;
    const params: unknown[] = [literals, checkK(perToken)];
    const where = compileFilter(options.where, 'd', params);
    const join = options.where ? `JOIN ${n.docs} d ON d.id = t.doc_id WHERE ${where}` : '';
    const r = await this.connection.query<{ doc_id: string }>(
      'ColBERT candidate search',
      `SELECT DISTINCT c.doc_id FROM unnest($1::vector[]) AS q(v)
       CROSS JOIN LATERAL (SELECT t.doc_id FROM ${n.tokens} t ${join} ORDER BY t.embedding <#> q.v LIMIT $2) c`,
      params,
      { settings: this.#searchSettings(perToken, options), ...(options.signal ? { signal: options.signal } : {}) },
    );
    return r.rows.map((row) => row.doc_id);
  }

  /**
   * Token vectors of the given documents, item i = ids[i] (a missing document gets no
   * rows). One row per document comes back: its tokens' binary vectors concatenated in
   * position order (`string_agg(vector_send(..))`), decoded here without parsing text.
   */
  async tokenVectors(ids: readonly string[], options: { signal?: AbortSignal } = {}): Promise<RaggedMatrix> {
    this.#requireMode('colbert', 'tokenVectors');
    const dim = this.dim;
    const stride = 4 + 4 * dim;
    const byId = new Map<string, Buffer>();
    if (ids.length > 0) {
      const r = await this.connection.query<{ doc_id: string; v: Buffer }>(
        'reading token vectors',
        `SELECT doc_id, string_agg(vector_send(embedding), ''::bytea ORDER BY pos) AS v FROM ${this.names.tokens} WHERE doc_id = ANY($1::text[]) GROUP BY doc_id`,
        [ids],
        options.signal ? { signal: options.signal } : {},
      );
      for (const row of r.rows) byId.set(row.doc_id, row.v);
    }
    const offsets = new Int32Array(ids.length + 1);
    for (let i = 0; i < ids.length; i++) offsets[i + 1] = offsets[i]! + (byId.get(ids[i]!)?.length ?? 0) / stride;
    const data = new Float32Array(offsets[ids.length]! * dim);
    for (let i = 0; i < ids.length; i++) {
      const buf = byId.get(ids[i]!);
      if (!buf) continue;
      const count = buf.length / stride;
      for (let t = 0; t < count; t++) decodeVectorBinary(buf.subarray(t * stride, (t + 1) * stride), data, (offsets[i]! + t) * dim, dim);
    }
    return { dim, offsets, data };
  }

  /** Closes the pool. */
  async close(): Promise<void> {
    await this.connection.end();
  }

  /**
   * kNN for each literal: chunks of `queriesPerStatement` queries, each one statement (a
   * LATERAL join; a single query gets the plain ORDER BY ... LIMIT form), run concurrently
   * up to the pool size.
   */
  async #knn(literals: string[], k: number, options: StoreSearchOptions): Promise<Hit[][]> {
    const chunks: number[] = [];
    for (let start = 0; start < literals.length; start += this.queriesPerStatement) chunks.push(start);
    const lists = await Promise.all(chunks.map((start) => this.#knnStatement(literals.slice(start, start + this.queriesPerStatement), k, options)));
    return lists.flat();
  }

  async #knnStatement(literals: string[], k: number, options: StoreSearchOptions): Promise<Hit[][]> {
    const n = this.names;
    const params: unknown[] = [literals.length === 1 ? literals[0] : literals, k];
    // Rows of empty documents hold no embedding: never a hit (ORDER BY would put them last, not drop them).
    const where = `d.embedding IS NOT NULL AND (${compileFilter(options.where, 'd', params)})`;
    const text =
      literals.length === 1
        ? `SELECT 1 AS qi, d.id, -(d.embedding <#> $1::vector) AS score FROM ${n.docs} d WHERE ${where} ORDER BY d.embedding <#> $1::vector LIMIT $2`
        : `SELECT q.i AS qi, r.id, r.score FROM unnest($1::vector[]) WITH ORDINALITY AS q(v, i)
       CROSS JOIN LATERAL (SELECT d.id, -(d.embedding <#> q.v) AS score FROM ${n.docs} d WHERE ${where} ORDER BY d.embedding <#> q.v LIMIT $2) r`;
    const r = await this.connection.query<{ qi: string | number; id: string; score: number }>('vector search', text, params, {
      settings: this.#searchSettings(k, options),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const out: Hit[][] = literals.map(() => []);
    for (const row of r.rows) out[Number(row.qi) - 1]!.push({ id: row.id, score: row.score });
    // Equal scores: a stable order (by id) whatever order the scan produced them in.
    for (const hits of out) hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return out;
  }

  #searchSettings(k: number, options: StoreSearchOptions): Settings {
    const ef = options.efSearch ?? 40;
    if (!Number.isInteger(ef) || ef < 1) throw new InputError(`efSearch must be a positive integer, got ${String(ef)}.`);
    return {
      'hnsw.ef_search': String(Math.min(EF_SEARCH_MAX, Math.max(ef, k))),
      // pgvector >= 0.8: keep scanning the graph until LIMIT rows pass the filter (and past ef_search), in exact distance order.
      'hnsw.iterative_scan': 'strict_order',
      enable_indexscan: options.exact ? 'off' : 'on',
    };
  }

  #queryLiteral(data: Float32Array, offset: number): string {
    const scale = this.#scale(data, offset, undefined, 'query vector');
    if (scale === 1) return vectorLiteral(data, offset, this.dim);
    const q = new Float32Array(this.dim);
    for (let j = 0; j < this.dim; j++) q[j] = data[offset + j]! * scale;
    return vectorLiteral(q);
  }

  /** 1 under ip; 1/‖v‖ under cosine. Rejects NaN/Infinity and (under cosine) zero vectors. */
  #scale(data: Float32Array, offset: number, id: string | undefined, what = 'vector'): number {
    let sq = 0;
    for (let j = 0; j < this.dim; j++) {
      const x = data[offset + j]!;
      if (!Number.isFinite(x)) throw new InputError(`${what}${id !== undefined ? ` "${id}"` : ''} has a non-finite component ${j} (${x}).`);
      sq += x * x;
    }
    if (this.metric !== 'cosine') return 1;
    if (sq === 0) throw new InputError(`${what}${id !== undefined ? ` "${id}"` : ''} is all zeros; a zero vector has no direction under the cosine metric.`);
    return 1 / Math.sqrt(sq);
  }

  #checkRows(ids: readonly string[], vectors: Matrix | readonly Float32Array[], options: UpsertOptions): number {
    const rows = countRows(vectors, this.dim, 'vector');
    if (!Array.isArray(ids) || ids.length !== rows) throw new InputError(`Got ${Array.isArray(ids) ? ids.length : 'no'} ids for ${rows} vectors; pass one id per vector.`);
    checkIds(ids);
    if (options.metas && options.metas.length !== rows) throw new InputError(`Got ${options.metas.length} metas for ${rows} vectors.`);
    if (options.hashes && options.hashes.length !== rows) throw new InputError(`Got ${options.hashes.length} hashes for ${rows} vectors.`);
    if (options.empty && options.empty.length !== rows) throw new InputError(`Got ${options.empty.length} empty flags for ${rows} vectors.`);
    return rows;
  }

  #requireMode(mode: 'dense' | 'colbert', op: string): void {
    if (this.mode !== mode) throw new InputError(`${op} needs a ${mode} store; ${this.names.schema}.${this.names.table} is a ${this.mode} store.`);
  }
}

function qualifiedIndex(schema: string, name: string): string {
  return `"${schema}"."${name}"`;
}

function checkK(k: unknown = 10): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k <= 0) throw new InputError(`k must be a positive integer, got ${String(k)}.`, { k });
  return k;
}

function checkIds(ids: readonly string[]): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (typeof id !== 'string' || id.length === 0) throw new InputError(`ids[${i}] must be a non-empty string.`, { row: i });
    if (seen.has(id)) throw new InputError(`Id "${id}" appears twice in one call; pass each id once (a later call replaces it).`, { id });
    seen.add(id);
  });
}

function checkFinite(data: Float32Array, offset: number, dim: number, id: string): void {
  for (let j = 0; j < dim; j++) if (!Number.isFinite(data[offset + j]!)) throw new InputError(`A token vector of "${id}" has a non-finite component ${j}.`);
}

function countRows(input: Matrix | readonly Float32Array[], dim: number, what: string): number {
  if (Array.isArray(input)) {
    (input as readonly Float32Array[]).forEach((row, i) => {
      if (!(row instanceof Float32Array)) throw new InputError(`${what} ${i} is not a Float32Array.`);
      if (row.length !== dim) throw new DimensionMismatchError(dim, row.length, `${what} (row ${i})`);
    });
    return input.length;
  }
  const m = input as Matrix;
  if (!m || !(m.data instanceof Float32Array) || !Number.isInteger(m.rows) || m.rows < 0) throw new InputError(`${what}s must be a Matrix {rows, cols, data} or an array of Float32Array.`);
  if (m.rows > 0 && m.cols !== dim) throw new DimensionMismatchError(dim, m.cols, what);
  if (m.data.length < m.rows * m.cols) throw new InputError(`Matrix data holds ${m.data.length} values; ${m.rows} x ${m.cols} needs ${m.rows * m.cols}.`);
  return m.rows;
}

function rowOf(input: Matrix | readonly Float32Array[], r: number, dim: number): { data: Float32Array; offset: number } {
  return Array.isArray(input) ? { data: (input as readonly Float32Array[])[r]!, offset: 0 } : { data: (input as Matrix).data, offset: r * dim };
}

async function copyInto(client: pg.PoolClient, sql: string, payload: Buffer): Promise<void> {
  const stream = client.query(copyStreams.from(sql));
  await pipeline(Readable.from([payload]), stream);
}

/** Exact top-k by score over ids (used by the ColBERT retriever after MaxSim). */
export function topHits(ids: readonly string[], scores: Float64Array, k: number): Hit[] {
  const top = new TopK(Math.min(k, ids.length));
  for (let i = 0; i < ids.length; i++) top.push(i, scores[i]!);
  const { indices, scores: best } = top.drain();
  return Array.from(indices, (item, j) => ({ id: ids[item]!, score: best[j]! }));
}
