import { AbortError } from '@quarry/core';
import { isTransient, toStoreError } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first one (default 6). */
  retries: number;
  /** First backoff delay in ms; doubles each retry (default 100). */
  baseDelayMs: number;
  /** Longest single delay in ms (default 5000). */
  maxDelayMs: number;
  signal?: AbortSignal;
  /** Called before each retry's sleep (logging, tests). */
  onRetry?: (event: { attempt: number; delayMs: number; error: unknown; operation: string }) => void;
}

/** Exponential backoff with "equal jitter": half the step fixed, half random, capped at maxDelayMs. */
export function backoffDelay(attempt: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('retry wait'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError('retry wait'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, retrying transient failures (connection refused/reset,
 * server shutdown 57P01..., serialization failures) with backoff. `fn` must be safe to
 * repeat: every operation of this package is (upserts, deletes, reads, DDL guarded by
 * IF NOT EXISTS). Non-transient errors and the last transient one are thrown as a
 * `StoreError` (or `StoreTimeoutError`) naming the operation; QuarryErrors pass through.
 */
export async function withRetry<T>(operation: string, fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw new AbortError(operation);
      if (!isTransient(error) || attempt > options.retries) throw toStoreError(error, operation, attempt);
      const delayMs = backoffDelay(attempt, options);
      options.onRetry?.({ attempt, delayMs, error, operation });
      await sleep(delayMs, options.signal);
    }
  }
}
