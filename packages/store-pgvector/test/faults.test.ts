import { SeededRandom } from '@quarry/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PgConnection, PgVectorStore, StoreError, StoreTimeoutError, backoffDelay, connectionOptionsSchema, isTransient, withRetry } from '../src/index.js';
import { PgliteServer } from './support/pglite.js';

/**
 * Faults against a server of this file's own (the shared one must stay up): the process
 * is SIGKILLed mid-load — no goodbye to the client, exactly a crashed or restarted
 * database — and started again on the same port and data folder.
 */
let server: PgliteServer;
beforeAll(async () => {
  server = await new PgliteServer({ template: inject('pgTemplate') }).start();
});
afterAll(async () => server?.stop());

function vectorsFor(n: number, dim: number): Float32Array[] {
  const rng = new SeededRandom(3);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => rng.next() - 0.5));
}

describe('the database going away', () => {
  it('a load whose server is killed mid-way resumes after the restart: every row once, none lost', async () => {
    const n = 3000;
    const dim = 24;
    const ids = Array.from({ length: n }, (_, i) => `d${i}`);
    const vectors = vectorsFor(n, dim);
    const retries: string[] = [];
    const store = await PgVectorStore.open({
      url: server.url,
      dim,
      metric: 'ip',
      table: 'fault_load',
      poolSize: 1,
      batchSize: 100,
      // Enough patience for a restart on a loaded 2-core machine (about 25 s).
      retries: 60,
      baseDelayMs: 50,
      maxDelayMs: 500,
      onRetry: (e) => retries.push((e.error as Error).message),
    });
    let killed = false;
    let restarted: Promise<unknown> | undefined;
    const committed: number[] = [];
    await store.upsert(ids, vectors, {
      metas: ids.map((_, i) => ({ i })),
      onProgress: ({ done }) => {
        committed.push(done);
        if (!killed && done >= 1000) {
          killed = true;
          // Kill while the client is already sending the next batch, then come back after a while.
          restarted = (async () => {
            await new Promise((r) => setTimeout(r, 20));
            await server.kill('SIGKILL');
            await new Promise((r) => setTimeout(r, 600));
            await server.start();
          })();
        }
      },
    });
    await restarted;
    expect(killed).toBe(true);
    // The connection really broke and was retried (refused while down, reset while sending).
    expect(retries.length).toBeGreaterThan(0);
    expect(committed.at(-1)).toBe(n);
    const r = await store.connection.query<{ rows: string; distinct: string }>('check', 'SELECT count(*) AS rows, count(DISTINCT id) AS distinct FROM "public"."fault_load_docs"');
    expect(r.rows[0]).toEqual({ rows: String(n), distinct: String(n) });
    // Every vector is the one that was sent for its id (exact float32 round trip).
    for (const i of [0, 999, 1000, 1001, 1099, 1100, 2999]) {
      expect(await store.getVector(ids[i]!)).toEqual(vectors[i]);
      expect(await store.getMeta(ids[i]!)).toEqual({ i });
    }
    await store.drop();
    await store.close();
  });

  it('gives up after its retries with a transient StoreError that says what to check', async () => {
    const store = await PgVectorStore.open({ url: server.url, dim: 4, table: 'fault_down', poolSize: 1, retries: 2, baseDelayMs: 20, maxDelayMs: 40 });
    await server.kill('SIGKILL');
    const error = await store.count().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('UPSTREAM_FAILED');
    expect((error as StoreError).details).toMatchObject({ transient: true, attempts: 3 });
    expect((error as Error).message).toMatch(/counting documents failed after 3 attempt\(s\).*reachable/);
    await server.start();
    expect(await store.count()).toBe(0); // the same pool reconnects once the server is back
    await store.drop();
    await store.close();
  });

  it('a statement past queryTimeoutMs fails with StoreTimeoutError (PGlite cannot cancel server-side; the client gives up)', async () => {
    const conn = new PgConnection(connectionOptionsSchema.parse({ url: server.url, poolSize: 1, queryTimeoutMs: 300, retries: 0 }));
    const error = await conn.query('a slow statement', 'SELECT pg_sleep(1.5)').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreTimeoutError);
    expect((error as Error).message).toMatch(/a slow statement got no answer within queryTimeoutMs/);
    // The pool throws the timed-out connection away; the next statement gets a fresh one.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await conn.query('after', 'SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    await conn.end();
  });

  it('sets statement_timeout on every connection (enforced by a real server; PGlite has no timer to enforce it)', async () => {
    const conn = new PgConnection(connectionOptionsSchema.parse({ url: server.url, poolSize: 1, statementTimeoutMs: 1234 }));
    expect((await conn.query<{ statement_timeout: string }>('show', 'SHOW statement_timeout')).rows[0]!.statement_timeout).toBe('1234ms');
    await conn.end();
  });
});

describe('transient error classification', () => {
  it('retries connection failures and server shutdowns, not statement errors', () => {
    for (const e of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('could not serialize access'), { code: '40001' }),
    ]) {
      expect(isTransient(e)).toBe(true);
    }
    for (const e of [
      Object.assign(new Error('syntax error'), { code: '42601' }),
      Object.assign(new Error('duplicate key'), { code: '23505' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      new Error('something else'),
    ]) {
      expect(isTransient(e)).toBe(false);
    }
  });

  it('backs off exponentially with jitter, capped, and retries only transient failures', async () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    let calls = 0;
    const value = await withRetry(
      'flaky',
      async () => {
        if (++calls < 3) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        return 'ok';
      },
      { retries: 5, baseDelayMs: 1, maxDelayMs: 2 },
    );
    expect([value, calls]).toEqual(['ok', 3]);
    calls = 0;
    const error = await withRetry(
      'broken',
      async () => {
        calls++;
        throw Object.assign(new Error('syntax error at or near "x"'), { code: '42601' });
      },
      { retries: 5, baseDelayMs: 1, maxDelayMs: 2 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).sqlState).toBe('42601');
  });
});
