import { DimensionMismatchError, DuplicateIdError, InputError, type Matrix } from '@quarry/core';
import type { Metric, VectorInput, VectorSearchOptions } from './types.js';

// Boundary checks shared by every index: they run before any state changes, so a
// rejected call leaves the index exactly as it was.

export const DEFAULT_K = 10;

export function checkMetric(metric: unknown): Metric {
  if (metric !== 'ip' && metric !== 'cosine') throw new InputError(`metric must be "ip" or "cosine", got ${JSON.stringify(metric)}.`, { metric });
  return metric;
}

/** A positive integer option (dimension, M, ef...). */
export function checkPositiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InputError(`${name} must be a positive integer, got ${String(value)}.`, { [name]: value });
  }
  return value;
}

/** `k` from search options: a positive integer, 10 when absent. */
export function checkK(options: VectorSearchOptions | undefined): number {
  const k = options?.k ?? DEFAULT_K;
  if (typeof k !== 'number' || !Number.isInteger(k) || k <= 0) throw new InputError(`k must be a positive integer, got ${String(k)}.`, { k });
  return k;
}

export function checkFilter(options: VectorSearchOptions | undefined): ((id: string) => boolean) | undefined {
  const filter = options?.filter;
  if (filter !== undefined && typeof filter !== 'function') throw new InputError('filter must be a function (id: string) => boolean.');
  return filter;
}

/** Checks ids for type, duplicates within the batch, and collisions with the index. */
export function checkIds(ids: readonly string[], rows: number, exists: (id: string) => boolean): void {
  if (!Array.isArray(ids)) throw new InputError('ids must be an array of strings.');
  if (ids.length !== rows) throw new InputError(`Got ${ids.length} ids for ${rows} vectors; pass one id per vector.`, { ids: ids.length, rows });
  const seen = new Set<string>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'string') throw new InputError(`ids[${i}] is not a string (${typeof id}).`, { row: i });
    if (seen.has(id) || exists(id)) throw new DuplicateIdError(id, 'vector index');
    seen.add(id);
  }
}

/** Number of rows in an input, after checking its shape against `dim`. */
export function countRows(input: VectorInput, dim: number, what: string): number {
  if (Array.isArray(input)) {
    (input as readonly Float32Array[]).forEach((row, i) => {
      if (!(row instanceof Float32Array)) throw new InputError(`${what} ${i} is not a Float32Array.`, { row: i });
      if (row.length !== dim) throw new DimensionMismatchError(dim, row.length, `${what} (row ${i})`);
    });
    return input.length;
  }
  const m = input as Matrix;
  if (!m || !(m.data instanceof Float32Array) || !Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0) {
    throw new InputError(`${what}s must be a Matrix {rows, cols, data: Float32Array} or an array of Float32Array.`);
  }
  if (m.rows > 0 && m.cols !== dim) throw new DimensionMismatchError(dim, m.cols, what);
  if (m.data.length < m.rows * m.cols) throw new InputError(`Matrix data holds ${m.data.length} values; ${m.rows} x ${m.cols} needs ${m.rows * m.cols}.`);
  return m.rows;
}

/** Row `r` of an input, as a view (no copy). */
export function rowOf(input: VectorInput, r: number, dim: number): Float32Array {
  return Array.isArray(input) ? (input as readonly Float32Array[])[r]! : (input as Matrix).data.subarray(r * dim, (r + 1) * dim);
}

/**
 * Checks every component of every row is finite and, under cosine, that no row is
 * zero; returns each row's scale factor (1/‖row‖ under cosine, undefined under ip).
 * Reads the input without copying it, so adding a large batch needs no temporary.
 * `names` labels rows in errors.
 */
export function checkRows(input: VectorInput, dim: number, metric: Metric, what: string, names?: readonly string[]): Float64Array | undefined {
  const rows = countRows(input, dim, what);
  const scales = metric === 'cosine' ? new Float64Array(rows) : undefined;
  for (let r = 0; r < rows; r++) {
    const scale = checkRow(rowOf(input, r, dim), metric, what, r, names);
    if (scales) scales[r] = scale;
  }
  return scales;
}

/** Copies the input into one packed row-major Float32Array, checked and (under cosine) normalised. */
export function packRows(input: VectorInput, dim: number, metric: Metric, what: string, names?: readonly string[]): Float32Array {
  const scales = checkRows(input, dim, metric, what, names);
  const rows = countRows(input, dim, what);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) copyRow(rowOf(input, r, dim), scales?.[r], out, r * dim);
  return out;
}

/** Writes `row` (times `scale`, when given) into `out` at `offset`. */
export function copyRow(row: Float32Array, scale: number | undefined, out: Float32Array | number[], offset: number): void {
  const dim = row.length;
  if (scale === undefined) for (let j = 0; j < dim; j++) out[offset + j] = row[j]!;
  else for (let j = 0; j < dim; j++) out[offset + j] = row[j]! * scale;
}

/** A validated query: the caller's array under `ip`, a normalised copy under cosine. */
export function prepareQuery(query: Float32Array, dim: number, metric: Metric): Float32Array {
  if (!(query instanceof Float32Array)) throw new InputError('query must be a Float32Array.');
  if (query.length !== dim) throw new DimensionMismatchError(dim, query.length, 'query vector');
  const scale = checkRow(query, metric, 'query vector');
  if (metric !== 'cosine') return query;
  const q = new Float32Array(dim);
  copyRow(query, scale, q, 0);
  return q;
}

/** Validated query rows packed contiguously (copied only when normalising). */
export function prepareQueries(queries: Matrix, dim: number, metric: Metric): Float32Array {
  if (Array.isArray(queries)) throw new InputError('searchBatch takes a Matrix {rows, cols, data}; use search() for a single Float32Array.');
  const rows = countRows(queries, dim, 'query vector');
  if (metric === 'cosine') return packRows(queries, dim, metric, 'query vector');
  checkRows(queries, dim, metric, 'query vector');
  return queries.data.subarray(0, rows * dim);
}

/** Validates one row; returns 1/‖row‖ under cosine (1 under ip). */
function checkRow(row: Float32Array, metric: Metric, what: string, r?: number, names?: readonly string[]): number {
  let sq = 0;
  for (let j = 0; j < row.length; j++) {
    const x = row[j]!;
    if (!Number.isFinite(x)) {
      throw new InputError(`${describeRow(what, r, names)} has a non-finite component ${j} (${x}); vectors must hold finite numbers.`, rowDetails(r, names, { component: j }));
    }
    sq += x * x;
  }
  if (metric !== 'cosine') return 1;
  const scale = 1 / Math.sqrt(sq);
  if (sq === 0 || !Number.isFinite(scale)) {
    throw new InputError(`${describeRow(what, r, names)} is all zeros; a zero vector has no direction under the cosine metric.`, rowDetails(r, names));
  }
  return scale;
}

function describeRow(what: string, row: number | undefined, names?: readonly string[]): string {
  if (row === undefined) return what;
  const id = names?.[row];
  return id === undefined ? `${what} ${row}` : `${what} ${row} (id "${id}")`;
}

function rowDetails(row: number | undefined, names: readonly string[] | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const details: Record<string, unknown> = { ...extra };
  if (row !== undefined) details['row'] = row;
  if (row !== undefined && names?.[row] !== undefined) details['id'] = names[row];
  return details;
}
