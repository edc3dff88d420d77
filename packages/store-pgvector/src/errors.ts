import { QuarryError } from '@quarry/core';

/** Postgres (or the connection to it) failed; `sqlState` is the server's error code when it sent one. */
export class StoreError extends QuarryError {
  readonly sqlState: string | undefined;

  constructor(message: string, details: { sqlState?: string; operation?: string; transient?: boolean; attempts?: number } = {}, options?: { cause?: unknown }) {
    super('UPSTREAM_FAILED', message, details, options);
    this.sqlState = details.sqlState;
  }
}

/** A statement ran past `statementTimeoutMs` (server-side, SQLSTATE 57014) or `queryTimeoutMs` (client-side). */
export class StoreTimeoutError extends StoreError {}

/**
 * A sync would put another corpus into a store that holds a collection: its rows would be
 * deleted. Pass `replace: true` (`--store-replace`) to replace it, or use another collection name.
 */
export class CollectionMismatchError extends QuarryError {
  constructor(
    readonly table: string,
    readonly stored: { name: string | null; documents: number },
    message: string,
  ) {
    super('INPUT_INVALID', message, { table, stored });
  }
}

/**
 * The tables were written by another version of this package's schema: newer than this
 * package knows (upgrade the package), or older with `migrate: false` (run `migrate()`).
 */
export class SchemaVersionError extends QuarryError {
  constructor(
    readonly found: number,
    readonly supported: number,
    readonly table: string,
    message: string,
  ) {
    super('INDEX_VERSION', message, { found, supported, table });
  }
}

/** SQLSTATE classes and codes worth retrying: the connection, not the statement, failed. */
const TRANSIENT_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08007',
  '08P01', // connection exceptions
]);

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
];

/** Whether an error from `pg` (or the socket under it) is worth retrying with backoff. */
export function isTransient(error: unknown): boolean {
  if (error instanceof QuarryError) return error instanceof StoreError && error.details['transient'] === true;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (TRANSIENT_SQLSTATES.has(e.code) || TRANSIENT_NODE_CODES.has(e.code))) return true;
  // Node's AggregateError from happy-eyeballs connects (IPv4 + IPv6 both refused).
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isTransient)) return true;
  return typeof e.message === 'string' && TRANSIENT_MESSAGES.some((m) => (e.message as string).includes(m));
}

/** Wraps whatever `pg` threw into a `StoreError` that names the operation and says what to do. */
export function toStoreError(error: unknown, operation: string, attempts: number): QuarryError {
  if (error instanceof QuarryError) return error;
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const sqlState = typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  const text = typeof e?.message === 'string' ? e.message : String(error);
  if (sqlState === '57014') {
    return new StoreTimeoutError(
      `Postgres cancelled ${operation}: ${text}. Raise statementTimeoutMs (or add an index), or split the work into smaller batches.`,
      { sqlState, operation, attempts },
      { cause: error },
    );
  }
  if (text.includes('Query read timeout')) {
    return new StoreTimeoutError(
      `${operation} got no answer within queryTimeoutMs (${text}). Raise queryTimeoutMs, or check that the server is responsive.`,
      { operation, attempts },
      { cause: error },
    );
  }
  if (isTransient(error)) {
    return new StoreError(
      `${operation} failed after ${attempts} attempt(s): ${text}. Check that the Postgres server is reachable and running; raise retries/maxDelayMs to wait longer.`,
      { ...(sqlState ? { sqlState } : {}), operation, transient: true, attempts },
      { cause: error },
    );
  }
  return new StoreError(`${operation} failed: ${text}${sqlState ? ` (SQLSTATE ${sqlState})` : ''}.`, { ...(sqlState ? { sqlState } : {}), operation, attempts }, { cause: error });
}
