import pg from 'pg';
import { throwIfAborted, z } from '@quarry/core';
import { withRetry, type RetryOptions } from './retry.js';

/** How to reach Postgres and how patiently; validated by `connectionOptionsSchema`. */
export const connectionOptionsSchema = z.object({
  /** `postgres://user@host:port/db` (a password belongs in PGPASSWORD or ~/.pgpass, see README). */
  url: z.string().min(1),
  /** Connections in the pool (default 4). Use 1 against PGlite's socket server: it serves one session to every connection (README). */
  poolSize: z.number().int().min(1).max(1000).default(4),
  /** Give up opening a connection after this long (default 10 s); a refused or timed-out connect is retried. */
  connectTimeoutMs: z.number().int().positive().default(10_000),
  /** Close connections idle this long (default 10 s). */
  idleTimeoutMs: z.number().int().positive().default(10_000),
  /** Server-side `statement_timeout` set on every connection (default 60 s; 0 = none). Index builds have their own, `indexTimeoutMs`. */
  statementTimeoutMs: z.number().int().nonnegative().default(60_000),
  /** Client-side limit on waiting for any answer (default 0 = none): the backstop when the server itself cannot time out. */
  queryTimeoutMs: z.number().int().nonnegative().default(0),
  /** Retries of a transient failure (connection refused/reset, 57P01 admin shutdown, ...), default 8 (about 12 s of waiting in all). */
  retries: z.number().int().nonnegative().default(8),
  /** First retry delay (default 100 ms), doubling up to `maxDelayMs` (default 5 s), with jitter. */
  baseDelayMs: z.number().int().positive().default(100),
  maxDelayMs: z.number().int().positive().default(5_000),
  applicationName: z.string().default('quarry'),
});

export type ConnectionOptions = z.input<typeof connectionOptionsSchema>;
type ResolvedConnectionOptions = z.output<typeof connectionOptionsSchema>;

/** Session settings (`set_config` names to values) a statement needs on its connection. */
export type Settings = Readonly<Record<string, string>>;

export interface UseOptions {
  signal?: AbortSignal;
  /**
   * Settings for this operation only: applied with `set_config(name, value, true)` inside a
   * transaction around it, so they never leak to other work on the same session (a
   * transaction-pooling PgBouncer, or PGlite's socket server, which serves one session to
   * every connection).
   */
  settings?: Settings;
  /** Run the operation inside BEGIN/COMMIT. */
  transaction?: boolean;
}

/**
 * A `pg.Pool` with retries and timeouts. Every operation runs through `use`, which checks
 * a client out, sets the session's base settings (statement_timeout) once per connection,
 * runs the operation (inside a transaction with its own `SET LOCAL`-style settings when it
 * has any) and returns the client. A client that saw any error is destroyed rather than
 * returned (its session state is unknown). Transient failures are retried with backoff, so
 * operations handed to `use` must be idempotent. All values travel as bind parameters.
 */
export class PgConnection {
  readonly options: ResolvedConnectionOptions;
  readonly pool: pg.Pool;
  readonly #settings = new WeakMap<pg.PoolClient, Map<string, string>>();
  #onRetry: RetryOptions['onRetry'];

  constructor(options: ResolvedConnectionOptions, onRetry?: RetryOptions['onRetry']) {
    this.options = options;
    this.#onRetry = onRetry;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: options.idleTimeoutMs,
      application_name: options.applicationName,
      ...(options.queryTimeoutMs > 0 ? { query_timeout: options.queryTimeoutMs } : {}),
      // A CLI run ends when its work does, not when idle connections time out.
      allowExitOnIdle: true,
    });
    // An idle connection whose server went away emits here; without a listener Node would
    // crash. Its next checkout fails and is retried.
    this.pool.on('error', () => {});
  }

  /** Session settings every connection gets once (cached per connection): statement_timeout. */
  get baseSettings(): Settings {
    return { statement_timeout: String(this.options.statementTimeoutMs) };
  }

  async use<T>(operation: string, fn: (client: pg.PoolClient) => Promise<T>, options: UseOptions = {}): Promise<T> {
    const retry: RetryOptions = {
      retries: this.options.retries,
      baseDelayMs: this.options.baseDelayMs,
      maxDelayMs: this.options.maxDelayMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(this.#onRetry ? { onRetry: this.#onRetry } : {}),
    };
    return withRetry(
      operation,
      async () => {
        throwIfAborted(options.signal, operation);
        const client = await this.pool.connect();
        // A checked-out client whose socket dies emits 'error' (the pool only listens while it
        // is idle); the operation in flight fails on its own, so this listener only keeps the
        // event from crashing the process and marks the client as broken.
        let broken: unknown;
        const onError = (error: unknown) => (broken ??= error);
        client.on('error', onError);
        try {
          await this.#apply(client, this.baseSettings);
          const local = Object.entries(options.settings ?? {});
          let value: T;
          if (options.transaction || local.length > 0) {
            await client.query('BEGIN');
            try {
              if (local.length > 0) await client.query(`SELECT ${local.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`, local.flat());
              value = await fn(client);
              await client.query('COMMIT');
            } catch (error) {
              await client.query('ROLLBACK').catch(() => {});
              throw error;
            }
          } else {
            value = await fn(client);
          }
          if (broken) throw broken;
          client.removeListener('error', onError);
          client.release();
          return value;
        } catch (error) {
          client.removeListener('error', onError);
          client.release(true);
          throw error;
        }
      },
      retry,
    );
  }

  /** One parameterised statement; rows as `pg` parses them. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, text: string, values: unknown[] = [], options: UseOptions = {}): Promise<pg.QueryResult<R>> {
    return this.use(operation, (client) => client.query<R>(text, values), options);
  }

  /** `fn` inside BEGIN/COMMIT; the whole transaction is retried on a transient failure. */
  async transaction<T>(operation: string, fn: (client: pg.PoolClient) => Promise<T>, options: UseOptions = {}): Promise<T> {
    return this.use(operation, fn, { ...options, transaction: true });
  }

  async end(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  async #apply(client: pg.PoolClient, wanted: Settings): Promise<void> {
    let current = this.#settings.get(client);
    if (!current) this.#settings.set(client, (current = new Map()));
    const names: string[] = [];
    const values: string[] = [];
    for (const [name, value] of Object.entries(wanted)) {
      if (current.get(name) !== value) {
        names.push(name);
        values.push(value);
      }
    }
    if (names.length === 0) return;
    const calls = names.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, false)`).join(', ');
    await client.query(
      `SELECT ${calls}`,
      names.flatMap((n, i) => [n, values[i]]),
    );
    names.forEach((n, i) => current.set(n, values[i]!));
  }
}
