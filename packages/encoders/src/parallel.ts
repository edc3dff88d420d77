import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError, throwIfAborted, type EncodeOptions, type Encoder, type Matrix, type RaggedMatrix, type TokenEncoder } from '@quarry/core';
import type { StaticEncoder } from './static-encoder.js';
import { matrix, resolveDim, textsArray } from './vectors.js';

/** Below this many texts an `encode` call stays on the calling thread. */
const MIN_PARALLEL = 256;

interface Pending {
  resolve: (data: Float32Array) => void;
  reject: (error: Error) => void;
}

interface WorkerSlot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** The worker script built next to this module (dist/encode-worker.js); undefined when running from sources. */
export function defaultWorkerScript(): string | undefined {
  try {
    const path = fileURLToPath(new URL('./encode-worker.js', import.meta.url));
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A static encoder spread over several threads: each large `encode` call is cut into one
 * slice per thread; the calling thread encodes one slice while worker threads (each with
 * its own copy of the model folder) encode the others. The vectors are identical to the
 * single-threaded encoder's. Token vectors and small calls stay on the calling thread.
 */
export class ParallelStaticEncoder implements Encoder, TokenEncoder {
  readonly dim: number;
  readonly local: StaticEncoder;
  readonly #slots: WorkerSlot[];
  #next = 0;

  private constructor(local: StaticEncoder, slots: WorkerSlot[]) {
    this.local = local;
    this.dim = local.dim;
    this.#slots = slots;
  }

  /**
   * Starts `threads - 1` workers that load `dir` and waits until they are ready. Where no
   * worker script exists (running from TypeScript sources) it returns `local` unchanged.
   */
  static async start(dir: string, local: StaticEncoder, threads: number, script = defaultWorkerScript()): Promise<ParallelStaticEncoder | StaticEncoder> {
    if (!Number.isInteger(threads) || threads < 1) throw new InputError(`threads must be a positive integer, got ${threads}.`);
    if (threads === 1 || !script) return local;
    const slots = await Promise.all(
      Array.from({ length: threads - 1 }, async () => {
        const worker = new Worker(script, { workerData: { dir } });
        const slot: WorkerSlot = { worker, pending: new Map() };
        await new Promise<void>((resolve, reject) => {
          worker.once('error', reject);
          worker.once('message', (m: { ready: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(m.error))));
        });
        worker.on('message', (m: { id?: number; data?: Float32Array; error?: string }) => {
          const p = m.id === undefined ? undefined : slot.pending.get(m.id);
          if (!p) return;
          slot.pending.delete(m.id!);
          if (slot.pending.size === 0) worker.unref();
          if (m.data) p.resolve(m.data);
          else p.reject(new Error(m.error ?? 'encode worker failed'));
        });
        worker.on('error', (error) => {
          for (const p of slot.pending.values()) p.reject(error);
          slot.pending.clear();
        });
        // Idle workers do not keep the process alive; `release()` stops them.
        worker.unref();
        return slot;
      }),
    );
    return new ParallelStaticEncoder(local, slots);
  }

  get threads(): number {
    return this.#slots.length + 1;
  }

  #run(slot: WorkerSlot, texts: string[], role: EncodeOptions['role'], dim: number | undefined): Promise<Float32Array> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ id, texts, role, dim });
    });
  }

  async encode(texts: readonly string[], options: EncodeOptions): Promise<Matrix> {
    textsArray(texts);
    const dim = resolveDim(options.dim, this.dim);
    if (texts.length < MIN_PARALLEL || this.#slots.length === 0) return this.local.encode(texts, options);
    throwIfAborted(options.signal, 'encoding');
    const size = Math.ceil(texts.length / (this.#slots.length + 1));
    const remote = this.#slots.map((slot, k) => this.#run(slot, texts.slice((k + 1) * size, (k + 2) * size), options.role, options.dim));
    const mine = await this.local.encode(texts.slice(0, size), options);
    const out = new Float32Array(texts.length * dim);
    out.set(mine.data, 0);
    (await Promise.all(remote)).forEach((data, k) => out.set(data, (k + 1) * size * dim));
    throwIfAborted(options.signal, 'encoding');
    return matrix(texts.length, dim, out);
  }

  encodeTokens(texts: readonly string[], options: EncodeOptions): Promise<RaggedMatrix> {
    return this.local.encodeTokens(texts, options);
  }

  /** Stops the worker threads (the encoder keeps working on the calling thread). */
  async release(): Promise<void> {
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
