import { DimensionMismatchError, InputError, QuarryError, SeededRandom } from '@quarry/core';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MIGRATIONS, PgVectorStore, SCHEMA_VERSION, SchemaVersionError, type MetaFilter } from '../src/index.js';

const url = inject('pgUrl');
const open = (table: string, extra: Partial<Parameters<typeof PgVectorStore.open>[0]> = {}) => PgVectorStore.open({ url, dim: 16, poolSize: 1, table, ...extra });

/** Low-rank vectors (like real embeddings): rank-4 latent mixed into `dim` dimensions, plus noise. */
function lowRank(n: number, dim: number, seed: number): Float32Array[] {
  const rng = new SeededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rng.next() || 1e-12)) * Math.cos(2 * Math.PI * rng.next());
  const mix = Array.from({ length: 4 * dim }, gauss);
  return Array.from({ length: n }, () => {
    const z = [gauss(), gauss(), gauss(), gauss()];
    const v = new Float32Array(dim);
    for (let j = 0; j < dim; j++) v[j] = z[0]! * mix[j]! + z[1]! * mix[dim + j]! + z[2]! * mix[2 * dim + j]! + z[3]! * mix[3 * dim + j]! + 0.3 * gauss();
    return v;
  });
}

function cosineTop(query: Float32Array, vectors: Float32Array[], ids: string[], k: number, keep: (i: number) => boolean = () => true): string[] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const qn = norm(query);
  return vectors
    .map((v, i) => ({ id: ids[i]!, i, s: v.reduce((s, x, j) => s + x * query[j]!, 0) / (qn * norm(v)) }))
    .filter((x) => keep(x.i))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.id);
}

describe('schema: creation, versions, migration', () => {
  it('creates the tables and records every migration in <table>_schema_version', async () => {
    const store = await open('s_create');
    expect(store.created).toBe(true);
    expect(store.version).toBe(SCHEMA_VERSION);
    const r = await store.connection.query<{ version: number; description: string }>('t', 'SELECT version, description FROM "public"."s_create_schema_version" ORDER BY version');
    expect(r.rows.map((x) => x.version)).toEqual(MIGRATIONS.map((m) => m.version));
    await store.close();
    const again = await open('s_create');
    expect(again.created).toBe(false);
    await again.drop();
    await again.close();
  });

  it('migrates a version-1 store to the latest, keeping its rows', async () => {
    const v1 = await open('s_migrate', { targetVersion: 1 });
    expect(v1.version).toBe(1);
    await v1.upsert(['a', 'b'], [new Float32Array(16).fill(1), new Float32Array(16).fill(-1)]);
    await v1.close();
    // Without migrate the older schema is a clear, typed error.
    const refused = await open('s_migrate', { migrate: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SchemaVersionError);
    expect((refused as SchemaVersionError).code).toBe('INDEX_VERSION');
    expect((refused as Error).message).toMatch(/schema version 1.*needs 2.*migrate: true/);
    const latest = await open('s_migrate');
    expect(latest.version).toBe(SCHEMA_VERSION);
    expect(await latest.count()).toBe(2);
    expect(await latest.tokenCount()).toBe(0); // the v2 table exists
    await latest.drop();
    await latest.close();
  });

  it('refuses a store written by a newer schema with SchemaVersionError', async () => {
    const store = await open('s_newer');
    await store.connection.query('t', `INSERT INTO "public"."s_newer_schema_version" (version, description) VALUES ($1, 'from the future')`, [SCHEMA_VERSION + 5]);
    await store.close();
    const error = await open('s_newer').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaVersionError);
    expect((error as SchemaVersionError).found).toBe(SCHEMA_VERSION + 5);
    expect((error as Error).message).toMatch(/newer than this @quarry\/store-pgvector supports.*Upgrade/);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('DROP TABLE "s_newer_docs", "s_newer_tokens", "s_newer_config", "s_newer_schema_version" CASCADE');
    await client.end();
  });

  it('reports a dimension mismatch when opening, and when loading or querying', async () => {
    const store = await open('s_dim');
    const error = await open('s_dim', { dim: 8 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DimensionMismatchError);
    expect((error as Error).message).toMatch(/holds 16-dimensional vectors but was opened for 8-dimensional/);
    await expect(store.upsert(['x'], [new Float32Array(8).fill(1)])).rejects.toBeInstanceOf(DimensionMismatchError);
    await expect(store.search(new Float32Array(12).fill(1))).rejects.toBeInstanceOf(DimensionMismatchError);
    await expect(open('s_dim', { metric: 'ip' })).rejects.toThrow(/metric "cosine"/);
    await expect(open('s_dim', { mode: 'colbert' })).rejects.toThrow(/holds dense vectors/);
    await store.drop();
    await store.close();
  });

  it('accepts only strict identifiers for schema and table names (no SQL through names)', async () => {
    for (const table of ['x"; DROP TABLE pg_class; --', 'Upper', '1abc', 'a-b', 'a'.repeat(41), '']) {
      const error = await open(table).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuarryError);
    }
    await expect(open('ok_name', { schema: 'public; drop' })).rejects.toBeInstanceOf(InputError);
  });
});

describe('loading, search, updates and deletes', () => {
  const n = 1500;
  const dim = 16;
  const vectors = lowRank(n, dim, 7);
  const ids = vectors.map((_, i) => `doc-${i}`);
  const metas = ids.map((_, i) => ({ year: 2000 + (i % 20), group: ['a', 'b', 'c'][i % 3]!, ...(i % 5 === 0 ? { flagged: true } : {}), ...(i % 7 === 0 ? { note: null } : {}) }));
  const queries = lowRank(20, dim, 99);
  let store: PgVectorStore;

  beforeAll(async () => {
    store = await open('s_main', { batchSize: 400 });
    const progress: number[] = [];
    expect(await store.upsert(ids, vectors, { metas, onProgress: (e) => progress.push(e.done) })).toBe(n);
    expect(progress).toEqual([400, 800, 1200, 1500]);
  });
  afterAll(async () => {
    await store?.drop();
    await store?.close();
  });

  it('stores every vector exactly (normalised under cosine) and its metadata', async () => {
    expect(await store.count()).toBe(n);
    const v = (await store.getVector('doc-3'))!;
    const x = vectors[3]!;
    const norm = Math.sqrt(x.reduce((s, a) => s + a * a, 0));
    for (let j = 0; j < dim; j++) expect(v[j]).toBe(Math.fround(x[j]! * (1 / norm)));
    expect(await store.getMeta('doc-5')).toEqual(metas[5]);
    expect(await store.getVector('nope')).toBeUndefined();
  });

  it('exact search equals brute-force cosine; HNSW recall@10 against it is high', async () => {
    const exact = await store.searchBatch(queries, { k: 10, exact: true });
    queries.forEach((q, i) => expect(exact[i]!.map((h) => h.id)).toEqual(cosineTop(q, vectors, ids, 10)));
    await expect(store.createIndex({ maintenanceWorkMem: 'lots' })).rejects.toThrow(/maintenanceWorkMem must look like '512MB'/);
    await store.createIndex({ m: 16, efConstruction: 64, maintenanceWorkMem: '128MB' });
    expect(await store.indexInfo()).toMatchObject({ m: 16, efConstruction: 64 });
    expect((await store.createIndex({ m: 16, efConstruction: 64 })).built).toBe(false);
    const approx = await store.searchBatch(queries, { k: 10, efSearch: 40 });
    let hit = 0;
    approx.forEach((hits, i) => (hit += hits.filter((h) => exact[i]!.some((e) => e.id === h.id)).length));
    expect(hit / (10 * queries.length)).toBeGreaterThanOrEqual(0.95);
    // The same query as a single search (plain ORDER BY ... LIMIT) and inside a batch (LATERAL) gives the same list,
    // and so does a batch split into statements of 3 queries.
    expect(await store.search(queries[0]!, { k: 10, efSearch: 40 })).toEqual(approx[0]);
    const chunked = await open('s_main', { queriesPerStatement: 3 });
    expect(await chunked.searchBatch(queries, { k: 10, efSearch: 40 })).toEqual(approx);
    await chunked.close();
  });

  it('metadata filters select exactly the matching documents (property test against a JS evaluation)', async () => {
    const scalar = fc.oneof(fc.constantFrom('a', 'b', 'c', 'z'), fc.integer({ min: 1998, max: 2021 }), fc.constant(true), fc.constant(null));
    const condition = fc.oneof(
      fc.record({ key: fc.constant('group'), cond: fc.oneof(fc.constantFrom('a', 'b'), fc.record({ in: fc.array(scalar, { minLength: 1, maxLength: 3 }) }), fc.record({ ne: scalar })) }),
      fc.record({
        key: fc.constant('year'),
        cond: fc.oneof(
          fc.record({ gte: fc.integer({ min: 1999, max: 2021 }) }),
          fc.record({ lt: fc.integer({ min: 1999, max: 2021 }), gt: fc.integer({ min: 1999, max: 2010 }) }),
          fc.record({ nin: fc.array(scalar, { maxLength: 3 }) }),
        ),
      }),
      fc.record({ key: fc.constantFrom('flagged', 'note', 'missing'), cond: fc.oneof(fc.record({ exists: fc.boolean() }), scalar) }),
    );
    const matches = (meta: Record<string, unknown>, key: string, cond: unknown): boolean => {
      const has = Object.hasOwn(meta, key);
      const v = meta[key];
      if (cond === null || typeof cond !== 'object') return has && v === cond;
      return Object.entries(cond as Record<string, unknown>).every(([op, x]) => {
        switch (op) {
          case 'ne':
            return !(has && v === x);
          case 'in':
            return has && (x as unknown[]).some((y) => y === v);
          case 'nin':
            return !(has && (x as unknown[]).some((y) => y === v));
          case 'exists':
            return has === x;
          default: {
            if (typeof v !== 'number') return false;
            const t = x as number;
            return op === 'gt' ? v > t : op === 'gte' ? v >= t : op === 'lt' ? v < t : v <= t;
          }
        }
      });
    };
    await fc.assert(
      fc.asyncProperty(fc.array(condition, { minLength: 1, maxLength: 2 }), async (conds) => {
        const where: Record<string, unknown> = {};
        for (const c of conds) where[c.key] = c.cond;
        const expected = ids.filter((_, i) => Object.entries(where).every(([k, c]) => matches(metas[i]!, k, c)));
        const hits = await store.search(queries[1]!, { k: n, where: where as MetaFilter, exact: true });
        expect(hits.map((h) => h.id).sort()).toEqual(expected.sort());
      }),
      { numRuns: 25, seed: 11 },
    );
  });

  it('a filtered HNSW search still returns k nearest matches (iterative scan), and the id predicate works too', async () => {
    const where = { group: 'b', year: { gte: 2015 } } as const;
    const keep = (i: number) => metas[i]!.group === 'b' && metas[i]!.year >= 2015;
    const hits = await store.search(queries[2]!, { k: 10, where, efSearch: 40 });
    expect(hits).toHaveLength(10);
    expect(hits.every((h) => keep(ids.indexOf(h.id)))).toBe(true);
    const truth = cosineTop(queries[2]!, vectors, ids, 10, keep);
    expect(hits.filter((h) => truth.includes(h.id)).length).toBeGreaterThanOrEqual(9);
    const predicate = await store.search(queries[2]!, { k: 10, filter: (id) => id.endsWith('7'), exact: true });
    expect(predicate.map((h) => h.id)).toEqual(cosineTop(queries[2]!, vectors, ids, 10, (i) => ids[i]!.endsWith('7')));
  });

  it('updates replace a vector in place (no duplicate rows), deletes remove it', async () => {
    const target = queries[3]!;
    await store.upsert(['doc-10'], [target], { metas: [{ year: 1900 }] });
    expect(await store.count()).toBe(n);
    expect((await store.search(target, { k: 1 }))[0]).toMatchObject({ id: 'doc-10' });
    expect((await store.search(target, { k: 1 }))[0]!.score).toBeCloseTo(1, 6);
    expect(await store.getMeta('doc-10')).toEqual({ year: 1900 });
    expect(await store.updateMeta('doc-10', { year: 1901 })).toBe(true);
    expect(await store.updateMeta('nope', {})).toBe(false);
    expect(await store.delete(['doc-10', 'doc-11', 'nope'])).toBe(2);
    expect(await store.count()).toBe(n - 2);
    expect(await store.has('doc-10')).toBe(false);
    expect((await store.search(target, { k: 5 })).some((h) => h.id === 'doc-10')).toBe(false);
    await expect(store.upsert(['x', 'x'], [target, target])).rejects.toThrow(/appears twice/);
    await expect(store.upsert(['z'], [new Float32Array(dim)])).rejects.toThrow(/all zeros/);
    await expect(store.upsert(['z'], [new Float32Array(dim).fill(Number.NaN)])).rejects.toThrow(/non-finite/);
  });
});
