import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { DimensionMismatchError, InputError, checkOptions, throwIfAborted, type RaggedMatrix } from '@quarry/core';
import { maxSimKernelOptionsSchema } from './options.js';
import { DataType, GraphBuilder } from '@quarry/encoders';
import { maxSim } from './maxsim.js';

export interface MaxSimKernelOptions {
  /** onnxruntime intra-op threads (default: all cores, at most 4). */
  threads?: number;
  /** Largest padded document block per inference call, in floats (default 4M = 16 MB). */
  blockFloats?: number;
  /**
   * Below this many multiply-adds a call is scored in plain JavaScript: an inference call
   * costs tens of microseconds before any arithmetic (default 2M).
   */
  jsThreshold?: number;
}

/**
 * The graph for token dimension `dim`: scores[n] = sum_i max_t (D[n, t, :] . Q[i, :]).
 * One GEMM Q x D^T over all document tokens ([q, n*l]; the long side last, where
 * onnxruntime's GEMM is fastest), then the max over each document's tokens (contiguous)
 * and the sum over query tokens.
 */
function buildGraph(dim: number): Uint8Array {
  const g = new GraphBuilder('maxsim', 17);
  const q = g.input('Q', DataType.FLOAT, ['q', dim]);
  const d = g.input('D', DataType.FLOAT, ['n', 'l', dim]);
  const flat = g.node('Reshape', [d, g.ints([-1, dim])]);
  const s = g.node('Gemm', [q, flat], { transB: 1 }); // [q, n*l]
  const nl = g.node('Slice', [g.node('Shape', [d]), g.ints([0]), g.ints([2])]);
  const s3 = g.node('Reshape', [s, g.node('Concat', [g.ints([-1]), nl], { axis: 0 })]); // [q, n, l]
  const best = g.node('ReduceMax', [s3], { axes: [2], keepdims: 0 }); // [q, n]
  g.node('ReduceSum', [best, g.ints([0])], { keepdims: 0 }, ['scores']); // [n]
  g.output('scores', DataType.FLOAT, ['n']);
  return g.build('Quarry ColBERT MaxSim: batched documents against one query');
}

/**
 * Exact MaxSim of one query against many documents, as one batched matrix product per
 * block of documents inside onnxruntime (its multi-threaded SIMD GEMM), followed by the
 * max over document tokens and the sum over query tokens in the same graph.
 *
 * Documents are grouped by length so padding stays small, and padded by repeating their
 * own first token: a copy of a real token cannot change a maximum, so no mask is needed.
 */
export class MaxSimKernel {
  readonly threads: number;
  readonly #sessions = new Map<number, Promise<ort.InferenceSession>>();
  readonly #blockFloats: number;
  readonly #jsThreshold: number;
  #buffer = new Float32Array(0);
  #queue: Promise<void> = Promise.resolve();

  constructor(options: MaxSimKernelOptions = {}) {
    checkOptions(maxSimKernelOptionsSchema, options, 'MaxSimKernel options');
    this.threads = options.threads ?? Math.min(4, availableParallelism());
    this.#blockFloats = options.blockFloats ?? 4 << 20;
    this.#jsThreshold = options.jsThreshold ?? 2_000_000;
  }

  /** A reusable block buffer: allocating (and zeroing) a fresh one per call costs as much as the copy. */
  #scratch(floats: number): Float32Array {
    if (this.#buffer.length < floats) this.#buffer = new Float32Array(Math.max(floats, this.#blockFloats));
    return this.#buffer.subarray(0, floats);
  }

  /** One session per token dimension (the GEMM's inner size is fixed in its graph). */
  #session(dim: number): Promise<ort.InferenceSession> {
    let session = this.#sessions.get(dim);
    if (!session) {
      session = ort.InferenceSession.create(buildGraph(dim), {
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      });
      this.#sessions.set(dim, session);
    }
    return session;
  }

  /**
   * MaxSim of one query (`nq x dim`, row-major) against a prepared block of `count`
   * documents padded to `length` tokens each (`count x length x dim`; pad by repeating a
   * real token of the same document). Returns one score per document.
   */
  async scoreBlock(query: Float32Array, dim: number, block: Float32Array, count: number, length: number): Promise<Float32Array> {
    if (query.length % dim !== 0) throw new InputError(`MaxSimKernel: query holds ${query.length} values, not a multiple of dim ${dim}.`);
    if (block.length !== count * length * dim) throw new InputError(`MaxSimKernel: block holds ${block.length} values, expected ${count} x ${length} x ${dim}.`);
    const session = await this.#session(dim);
    const result = await session.run({
      Q: new ort.Tensor('float32', query, [query.length / dim, dim]),
      D: new ort.Tensor('float32', block, [count, length, dim]),
    });
    return result.scores!.data as Float32Array;
  }

  /**
   * MaxSim of query item `qi` of `queries` against the documents `items` of `docs`
   * (default: all of them), in the order given. Empty documents score 0.
   */
  score(queries: RaggedMatrix, qi: number, docs: RaggedMatrix, items?: ArrayLike<number>, signal?: AbortSignal): Promise<Float32Array> {
    // Calls run one at a time: they share the block buffer, and each already uses every
    // onnxruntime thread.
    const run = this.#queue.then(() => this.#score(queries, qi, docs, items, signal));
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #score(queries: RaggedMatrix, qi: number, docs: RaggedMatrix, items: ArrayLike<number> | undefined, signal: AbortSignal | undefined): Promise<Float32Array> {
    const dim = queries.dim;
    if (docs.dim !== dim) throw new DimensionMismatchError(dim, docs.dim, 'document token vector');
    const q0 = queries.offsets[qi];
    const q1 = queries.offsets[qi + 1];
    if (q0 === undefined || q1 === undefined) throw new InputError(`MaxSimKernel.score: query item ${qi} is out of range.`);
    const nDocs = docs.offsets.length - 1;
    const ids = items ?? Int32Array.from({ length: nDocs }, (_, i) => i);
    const out = new Float32Array(ids.length);
    const nq = q1 - q0;
    if (nq === 0 || ids.length === 0) return out;
    let work = 0;
    for (let i = 0; i < ids.length; i++) {
      const doc = ids[i]!;
      if (!(doc >= 0 && doc < nDocs)) throw new InputError(`MaxSimKernel.score: document item ${doc} is out of range (0..${nDocs - 1}).`);
      work += docs.offsets[doc + 1]! - docs.offsets[doc]!;
    }
    if (work * nq * dim < this.#jsThreshold) {
      for (let i = 0; i < ids.length; i++) out[i] = maxSim(queries, qi, docs, ids[i]!);
      return out;
    }
    const query = queries.data.subarray(q0 * dim, q1 * dim);
    const length = (i: number): number => docs.offsets[ids[i]! + 1]! - docs.offsets[ids[i]!]!;
    const order = Array.from({ length: ids.length }, (_, i) => i).filter((i) => length(i) > 0);
    order.sort((a, b) => length(a) - length(b));
    let start = 0;
    while (start < order.length) {
      throwIfAborted(signal, 'MaxSim scoring');
      // Grow the block while it fits and padding stays under ~25% of the real tokens.
      let end = start + 1;
      let real = length(order[start]!);
      while (end < order.length) {
        const L = length(order[end]!);
        const padded = (end - start + 1) * L;
        if (padded * dim > this.#blockFloats || padded > 1.25 * (real + L)) break;
        real += L;
        end++;
      }
      const count = end - start;
      const L = length(order[end - 1]!);
      const block = this.#scratch(count * L * dim);
      for (let b = 0; b < count; b++) {
        const doc = ids[order[start + b]!]!;
        const d0 = docs.offsets[doc]!;
        const n = docs.offsets[doc + 1]! - d0;
        const base = b * L * dim;
        block.set(docs.data.subarray(d0 * dim, (d0 + n) * dim), base);
        for (let t = n; t < L; t++) block.copyWithin(base + t * dim, base, base + dim);
      }
      const scores = await this.scoreBlock(query, dim, block, count, L);
      for (let b = 0; b < count; b++) out[order[start + b]!] = scores[b]!;
      start = end;
    }
    return out;
  }

  async release(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const s of sessions) await (await s).release();
  }
}
