import { availableParallelism } from 'node:os';
import { IndexCorruptError, InputError, definePlugin, openIndexDir, throwIfAborted, z, type Encoder } from '@quarry/core';
import { MatryoshkaEncoder, bundledModelDir, loadEncoder } from '@quarry/encoders';
import { DENSE_POINTER_FORMAT, DENSE_POINTER_VERSION, PgDenseRetriever, collectionTable, encoderFingerprint } from './dense-retriever.js';
import { PgVectorStore } from './store.js';

const postgresUrl = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a postgres://user@host:port/database URL' });
      return;
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') ctx.addIssue({ code: 'custom', message: `must start with postgres:// (got ${url.protocol}//)` });
    if (url.password) {
      ctx.addIssue({
        code: 'custom',
        message: 'must not contain a password: the URL is saved with the pipeline. Put the password in PGPASSWORD or ~/.pgpass instead',
      });
    }
  });

const schema = z
  .object({
    url: postgresUrl.describe('Postgres URL, postgres://user@host:port/db (password via PGPASSWORD or ~/.pgpass)'),
    table: z.string().default('quarry_dense').describe('table-name prefix of the store (<table>_docs, ...)'),
    collection: z.string().min(1).optional().describe("the corpus's name: its vectors go to tables <table>_<collection>_*, so corpora live side by side"),
    replace: z.boolean().default(false).describe('replace the collection the store holds with this corpus instead of failing'),
    schema: z.string().default('public').describe('Postgres schema'),
    reset: z.boolean().default(false).describe('clear a store that holds vectors from another encoder instead of failing'),
    encoder: z.string().min(1).optional().describe('model folder; default: the bundled scifact-static model'),
    index: z.enum(['flat', 'hnsw']).default('hnsw').describe("'hnsw': pgvector HNSW index; 'flat': exact scan"),
    dim: z.number().int().positive().optional().describe('Matryoshka prefix dimension'),
    batchSize: z.number().int().positive().default(1024).describe('texts per encoder call'),
    threads: z.number().int().positive().optional().describe('encoding threads (default: the cores, at most 4)'),
    M: z.number().int().min(2).max(100).default(16).describe('HNSW graph degree (pgvector m)'),
    efConstruction: z.number().int().positive().max(1000).default(200).describe('HNSW build-time candidate list (ef_construction)'),
    ef: z.number().int().positive().max(1000).default(64).describe('HNSW search list (hnsw.ef_search, raised to k)'),
    loadBatch: z.number().int().positive().default(500).describe('rows per COPY batch (one transaction each)'),
    poolSize: z.number().int().positive().default(4).describe('connections in the pool (1 against PGlite)'),
    statementTimeoutMs: z.number().int().nonnegative().default(60_000),
    queryTimeoutMs: z.number().int().nonnegative().default(0),
    retries: z.number().int().nonnegative().default(8),
  })
  .strict();

export type DensePgPluginOptions = z.output<typeof schema>;

async function encoderFor(options: DensePgPluginOptions): Promise<Encoder> {
  const encoder = await loadEncoder(options.encoder ?? bundledModelDir(), { threads: options.threads ?? Math.min(4, availableParallelism()) });
  return options.dim === undefined || options.dim === encoder.dim ? encoder : new MatryoshkaEncoder(encoder, options.dim);
}

/** The store's table prefix: one per collection when the collection is named. */
function storeTable(options: DensePgPluginOptions): string {
  return options.collection === undefined ? options.table : collectionTable(options.table, options.collection);
}

function openStore(options: DensePgPluginOptions, dim: number, signal: AbortSignal | undefined): Promise<PgVectorStore> {
  return PgVectorStore.open({
    url: options.url,
    schema: options.schema,
    table: storeTable(options),
    dim,
    metric: 'cosine',
    mode: 'dense',
    batchSize: options.loadBatch,
    poolSize: options.poolSize,
    statementTimeoutMs: options.statementTimeoutMs,
    queryTimeoutMs: options.queryTimeoutMs,
    retries: options.retries,
    ...(signal ? { signal } : {}),
  });
}

function retrieverFor(encoder: Encoder, store: PgVectorStore, options: DensePgPluginOptions): PgDenseRetriever {
  return new PgDenseRetriever(encoder, store, { name: 'dense-pg', batchSize: options.batchSize, efSearch: options.ef, exact: options.index === 'flat' });
}

/**
 * The `dense-pg` retriever plugin: the `dense` plugin's encoder with the vectors in
 * Postgres + pgvector. `create` syncs the store with the pipeline's documents (encoding
 * only what is missing or changed, so a load that died half way resumes), then builds the
 * HNSW index; `load` reopens the store a saved pipeline points at and checks it still
 * holds what was saved.
 */
export const densePgPlugin = definePlugin({
  kind: 'retriever',
  name: 'dense-pg',
  description: "Dense retrieval with the vectors in Postgres + pgvector (HNSW or exact), resumable COPY loads; the dense plugin's encoders.",
  schema,
  async create(options: DensePgPluginOptions, context) {
    throwIfAborted(context.signal, 'dense indexing');
    const encoder = await encoderFor(options);
    const store = await openStore(options, encoder.dim, context.signal);
    try {
      const fingerprint = await encoderFingerprint(encoder);
      const recorded = await store.getSetting('encoder');
      if (recorded !== undefined && recorded !== fingerprint && (await store.count()) > 0) {
        if (!options.reset) {
          throw new InputError(
            `Store ${options.schema}.${storeTable(options)} holds vectors from another encoder. Pass --store-reset (option reset: true) to clear it, or --store-table NAME to use another table.`,
            { table: options.table },
          );
        }
        await store.clear();
      }
      await store.setSetting('encoder', fingerprint);
      const retriever = retrieverFor(encoder, store, options);
      await retriever.sync(context.docs, {
        batchSize: options.batchSize,
        replace: options.replace,
        ...(options.collection !== undefined ? { collection: options.collection } : {}),
        ...(context.signal ? { signal: context.signal } : {}),
        ...(context.onProgress ? { onProgress: context.onProgress } : {}),
      });
      if (options.index === 'hnsw') await store.createIndex({ m: options.M, efConstruction: options.efConstruction }, context.signal ? { signal: context.signal } : {});
      return retriever;
    } catch (error) {
      await store.close();
      throw error;
    }
  },
  async load(dir: string, options: DensePgPluginOptions, context) {
    const manifest = await openIndexDir(dir, DENSE_POINTER_FORMAT, [DENSE_POINTER_VERSION]);
    const meta = manifest.meta;
    const encoder = await encoderFor(options);
    if (meta['dim'] !== encoder.dim) throw new IndexCorruptError(`the saved store holds ${String(meta['dim'])}-d vectors but the encoder gives ${encoder.dim}-d; rebuild`, dir);
    const store = await openStore(options, encoder.dim, context.signal);
    try {
      const [count, fingerprint] = await Promise.all([store.count(), encoderFingerprint(encoder)]);
      // The table may have been changed since the pipeline was saved: the caller rebuilds (a resumable sync).
      if (count !== meta['count']) throw new IndexCorruptError(`the store now holds ${count} documents, the saved pipeline ${String(meta['count'])}`, dir);
      if (fingerprint !== meta['encoder']) throw new IndexCorruptError('the store was built with another encoder', dir);
      if (options.index === 'hnsw') {
        const info = await store.indexInfo();
        if (!info || info.m !== options.M || info.efConstruction !== options.efConstruction) throw new IndexCorruptError('the store has no HNSW index with the configured parameters', dir);
      }
      return retrieverFor(encoder, store, options);
    } catch (error) {
      await store.close();
      throw error;
    }
  },
  pathOptions: ['encoder'],
  cliOptions: [
    { flag: 'store', option: 'url', type: 'string', description: 'Postgres URL: keep dense vectors in Postgres + pgvector (postgres://user@host:port/db)' },
    { flag: 'store-table', option: 'table', type: 'string', description: 'table-name prefix in Postgres (default quarry_dense)' },
    { flag: 'store-reset', option: 'reset', type: 'boolean', description: 'clear a Postgres store built with another encoder' },
    { flag: 'store-collection', option: 'collection', type: 'string', description: "the corpus's name; each collection gets its own tables (quarry sets it to the dataset folder's name)" },
    { flag: 'store-replace', option: 'replace', type: 'boolean', description: 'replace the collection a Postgres store holds with this corpus (its rows are deleted)' },
    { flag: 'encoder', option: 'encoder', type: 'string', description: 'encoder model folder (default: bundled scifact-static)' },
    { flag: 'dim', option: 'dim', type: 'number', description: 'Matryoshka prefix dimension' },
    { flag: 'dense-index', option: 'index', type: 'string', description: "dense index: 'flat' (exact) or 'hnsw'" },
  ],
});
