export { PgVectorStore, storeOptionsSchema, topHits, type PgVectorStoreOptions, type HnswParams, type StoreSearchOptions, type UpsertOptions } from './store.js';
export {
  PgDenseRetriever,
  collectionTable,
  corpusFingerprint,
  docHash,
  encoderFingerprint,
  redactUrl,
  type PgDenseRetrieverOptions,
  type PgSearchOptions,
  type AddDocsOptions,
  type SyncOptions,
  type SyncResult,
  type StoredCollection,
} from './dense-retriever.js';
export { PgColbertRetriever, type PgColbertRetrieverOptions } from './colbert-retriever.js';
export { densePgPlugin, type DensePgPluginOptions } from './plugin.js';
export { PgConnection, connectionOptionsSchema, type ConnectionOptions, type Settings, type UseOptions } from './connection.js';
export { compileFilter, type MetaFilter, type MetaCondition, type MetaValue } from './filter.js';
export { MIGRATIONS, SCHEMA_VERSION, storeNames, type StoreConfig, type StoreNames } from './schema.js';
export { StoreError, StoreTimeoutError, SchemaVersionError, CollectionMismatchError, isTransient } from './errors.js';
export { withRetry, backoffDelay, type RetryOptions } from './retry.js';
export { IDENTIFIER_PATTERN, checkIdentifier, vectorLiteral, CopyBinaryWriter } from './sql.js';
export { pgDenseRetrieverOptionsSchema, pgColbertRetrieverOptionsSchema, pgAddDocsOptionsSchema, pgSyncOptionsSchema } from './options.js';
