import { DimensionMismatchError, InputError } from '@quarry/core';
import type pg from 'pg';
import type { PgConnection } from './connection.js';
import { SchemaVersionError } from './errors.js';
import { inlineInt, qualified } from './sql.js';

/** The tables of one store, all named `<table>_<suffix>` in `schema`. */
export interface StoreNames {
  schema: string;
  table: string;
  versions: string;
  config: string;
  docs: string;
  tokens: string;
  hnswDocs: string;
  hnswTokens: string;
  metaGin: string;
  stageDocs: string;
  stageTokens: string;
}

export function storeNames(schema: string, table: string): StoreNames {
  const q = (suffix: string) => qualified(schema, `${table}_${suffix}`);
  return {
    schema,
    table,
    versions: q('schema_version'),
    config: q('config'),
    docs: q('docs'),
    tokens: q('tokens'),
    hnswDocs: `${table}_docs_hnsw`,
    hnswTokens: `${table}_tokens_hnsw`,
    metaGin: `${table}_docs_meta_gin`,
    // Temporary tables live in the session's own schema; unqualified on purpose.
    stageDocs: `"${table}_stage_docs"`,
    stageTokens: `"${table}_stage_tokens"`,
  };
}

/** What a store's config row says about its vectors; fixed when the store is created. */
export interface StoreConfig {
  dim: number;
  metric: 'cosine' | 'ip';
  mode: 'dense' | 'colbert';
}

interface Migration {
  version: number;
  description: string;
  up(client: pg.PoolClient, names: StoreNames, config: StoreConfig): Promise<void>;
}

/**
 * The schema's history. A migration runs once, inside the transaction that records it in
 * `<table>_schema_version`; a store is at the highest version recorded there. Append new
 * migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'config and documents (id, vector, jsonb meta, source hash)',
    async up(client, n, config) {
      const dim = inlineInt(config.dim, 'dim', 1, 16_000);
      await client.query(`CREATE TABLE ${n.config} (key text PRIMARY KEY, value jsonb NOT NULL)`);
      await client.query(
        `CREATE TABLE ${n.docs} (id text PRIMARY KEY, embedding vector(${dim}), meta jsonb NOT NULL DEFAULT '{}'::jsonb, source_hash text, updated_at timestamptz NOT NULL DEFAULT now())`,
      );
      await client.query(`INSERT INTO ${n.config} (key, value) VALUES ('dim', $1::jsonb), ('metric', $2::jsonb), ('mode', $3::jsonb)`, [
        JSON.stringify(config.dim),
        JSON.stringify(config.metric),
        JSON.stringify(config.mode),
      ]);
    },
  },
  {
    version: 2,
    description: 'ColBERT token vectors table; GIN index on meta for filters',
    async up(client, n, config) {
      const dim = inlineInt(config.dim, 'dim', 1, 16_000);
      await client.query(
        `CREATE TABLE ${n.tokens} (doc_id text NOT NULL REFERENCES ${n.docs} (id) ON DELETE CASCADE, pos int4 NOT NULL, embedding vector(${dim}) NOT NULL, PRIMARY KEY (doc_id, pos))`,
      );
      await client.query(`CREATE INDEX "${n.metaGin}" ON ${n.docs} USING gin (meta jsonb_path_ops)`);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export interface EnsureSchemaOptions {
  /** Create a missing store and apply pending migrations (default true); false = fail on an older schema. */
  migrate: boolean;
  /** Stop at this version (tests of migration paths); default the latest. */
  targetVersion?: number;
  signal?: AbortSignal;
}

/**
 * Creates or migrates the store under an advisory lock (concurrent openers wait for each
 * other), then checks that its config agrees with what the caller expects. Returns the
 * stored config and the version the store is at.
 */
export async function ensureSchema(conn: PgConnection, names: StoreNames, wanted: StoreConfig, options: EnsureSchemaOptions): Promise<{ config: StoreConfig; version: number; created: boolean }> {
  const target = options.targetVersion ?? SCHEMA_VERSION;
  if (!Number.isInteger(target) || target < 1 || target > SCHEMA_VERSION) throw new InputError(`targetVersion must be an integer in 1..${SCHEMA_VERSION}.`);
  const label = `${names.schema}.${names.table}`;
  return conn.transaction(
    `opening store ${label}`,
    async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`quarry-store:${label}`]);
      const ext = await client.query<{ v: string | null }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`);
      if (!ext.rows[0]?.v) {
        if (!options.migrate) throw new InputError(`The pgvector extension is not installed in this database; run CREATE EXTENSION vector (or open with migrate: true).`);
        await client.query('CREATE EXTENSION IF NOT EXISTS vector');
      }
      const found = await client.query<{ versions: string | null; docs: string | null }>('SELECT to_regclass($1)::text AS versions, to_regclass($2)::text AS docs', [names.versions, names.docs]);
      let version = 0;
      if (found.rows[0]?.versions) {
        const v = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${names.versions}`);
        version = v.rows[0]?.v ?? 0;
      } else if (found.rows[0]?.docs) {
        throw new InputError(`${names.docs} exists but has no ${names.versions} table, so it was not created by @quarry/store-pgvector; choose another table name.`);
      }
      if (version > SCHEMA_VERSION) {
        throw new SchemaVersionError(
          version,
          SCHEMA_VERSION,
          label,
          `Store ${label} is at schema version ${version}, newer than this @quarry/store-pgvector supports (${SCHEMA_VERSION}). Upgrade @quarry/store-pgvector, or point it at another table.`,
        );
      }
      let config = wanted;
      if (version > 0) config = await readConfig(client, names, label);
      const created = version === 0;
      if (version < target) {
        if (!options.migrate) {
          throw new SchemaVersionError(
            version,
            target,
            label,
            version === 0
              ? `Store ${label} does not exist; open it with migrate: true to create it.`
              : `Store ${label} is at schema version ${version}; this package needs ${target}. Open it with migrate: true (or call migrate()) to upgrade it.`,
          );
        }
        if (version === 0) await client.query(`CREATE TABLE IF NOT EXISTS ${names.versions} (version int4 PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        for (const m of MIGRATIONS) {
          if (m.version <= version || m.version > target) continue;
          await m.up(client, names, config);
          await client.query(`INSERT INTO ${names.versions} (version, description) VALUES ($1, $2)`, [m.version, m.description]);
          version = m.version;
        }
      }
      checkConfig(config, wanted, label);
      return { config, version, created };
    },
    options.signal ? { signal: options.signal } : {},
  );
}

async function readConfig(client: pg.PoolClient, names: StoreNames, label: string): Promise<StoreConfig> {
  const rows = await client.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${names.config}`);
  const map = new Map(rows.rows.map((r) => [r.key, r.value]));
  const dim = map.get('dim');
  const metric = map.get('metric');
  const mode = map.get('mode');
  if (typeof dim !== 'number' || (metric !== 'cosine' && metric !== 'ip') || (mode !== 'dense' && mode !== 'colbert')) {
    throw new InputError(`Store ${label} has an unreadable config table (dim ${String(dim)}, metric ${String(metric)}, mode ${String(mode)}); recreate the store.`);
  }
  return { dim, metric, mode };
}

function checkConfig(stored: StoreConfig, wanted: StoreConfig, label: string): void {
  if (stored.dim !== wanted.dim) {
    const error = new DimensionMismatchError(stored.dim, wanted.dim, `vector for store ${label}`);
    error.message = `Store ${label} holds ${stored.dim}-dimensional vectors but was opened for ${wanted.dim}-dimensional ones. Use the encoder (and Matryoshka dim) it was built with, or another table name (or drop this store).`;
    throw error;
  }
  if (stored.metric !== wanted.metric)
    throw new InputError(`Store ${label} was created for metric "${stored.metric}", not "${wanted.metric}"; open it with metric "${stored.metric}" or use another table.`);
  if (stored.mode !== wanted.mode) throw new InputError(`Store ${label} holds ${stored.mode} vectors, not ${wanted.mode}; use another table name for a ${wanted.mode} store.`);
}
