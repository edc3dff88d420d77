import { HttpError } from './errors.js';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Bounded concurrency: at most `concurrency` tasks run at once, at most `queue` wait for a
 * slot (first come, first served), and anything past that is refused at once with a 503
 * and Retry-After, so an overloaded server answers quickly instead of piling up work.
 * A waiting task whose signal fires (deadline, client gone) leaves the queue.
 */
export class Limiter {
  #active = 0;
  readonly #waiting: Waiter[] = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
    readonly retryAfterSeconds = 1,
  ) {}

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #overloaded(message: string): HttpError {
    return new HttpError(503, 'OVERLOADED', message, undefined, { 'retry-after': String(this.retryAfterSeconds) });
  }

  async #acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw this.#overloaded('The request timed out before a search slot was free; retry later.');
    if (this.#active < this.concurrency) {
      this.#active++;
      return;
    }
    if (this.#waiting.length >= this.queue) {
      throw this.#overloaded(`The server is at its concurrency limit (${this.concurrency} searching, ${this.queue} waiting); retry after ${this.retryAfterSeconds} s.`);
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(this.#overloaded(`The request waited for a search slot past its deadline (${this.#waiting.length} others waiting); retry later.`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    // The slot passes straight to the next waiter, so `active` stays the same.
    if (next) next.resolve();
    else this.#active--;
  }
}
