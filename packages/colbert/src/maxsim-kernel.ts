import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { DimensionMismatchError, InputError, checkOptions, throwIfAborted, type RaggedMatrix } from '@quarry/core';
import { maxSimKernelOptionsSchema } from './options.js';
import { DataType, GraphBuilder } from '@quarry/encoders';
import { maxSim } from './maxsim.js';
import type { TokenSource } from './token-store.js';

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
 * From this token width up, `score` runs one unpadded GEMM and takes the max in JS; below it,
 * the `[q, t]` output costs more than padding, so it scores padded blocks (measured with
 * `npm run bench:kernel`: at 256-d unpadded is faster, at 64 and 128 padded blocks are).
 */
const SEGMENT_MIN_DIM = 192;

/**
 * The graph behind `score` for wide tokens: S = Q x D^T over the candidates' tokens laid end to end
 * (`[q, t]`, no padding); the max over each document's tokens and the sum over query
 * tokens follow in JavaScript over that small matrix.
 */
function buildSegmentGraph(dim: number): Uint8Array {
  const g = new GraphBuilder('maxsim_segments', 17);
  g.input('Q', DataType.FLOAT, ['q', dim]);
  g.input('D', DataType.FLOAT, ['t', dim]);
  g.node('Gemm', ['Q', 'D'], { transB: 1 }, ['S']);
  g.output('S', DataType.FLOAT, ['q', 't']);
  return g.build('Quarry ColBERT MaxSim: query tokens x concatenated document tokens');
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
  #output = new Float32Array(0);
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

  /** One session per (graph, token dimension): the GEMM's inner size is fixed in its graph. */
  #session(dim: number, kind: 'block' | 'segments' = 'block'): Promise<ort.InferenceSession> {
    const key = kind === 'block' ? dim : -dim;
    let session = this.#sessions.get(key);
    if (!session) {
      session = ort.InferenceSession.create(kind === 'block' ? buildGraph(dim) : buildSegmentGraph(dim), {
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        // Idle workers sleep instead of spinning: on a shared machine spinning burns CPU for nothing.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      this.#sessions.set(key, session);
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
   * (default: all of them), in the order given. Empty documents score 0. `docs` is a ragged
   * matrix or any `TokenSource` (a `DocTokenStore`): documents are written straight from it
   * into the padded block, so a compact store is decoded by that one copy.
   */
  score(queries: RaggedMatrix, qi: number, docs: RaggedMatrix | TokenSource, items?: ArrayLike<number>, signal?: AbortSignal): Promise<Float32Array> {
    // Calls run one at a time: they share the block buffer, and each already uses every
    // onnxruntime thread.
    const run = this.#queue.then(() => this.#score(queries, qi, docs, items, signal));
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #score(queries: RaggedMatrix, qi: number, docs: RaggedMatrix | TokenSource, items: ArrayLike<number> | undefined, signal: AbortSignal | undefined): Promise<Float32Array> {
    const dim = queries.dim;
    if (docs.dim !== dim) throw new DimensionMismatchError(dim, docs.dim, 'document token vector');
    const q0 = queries.offsets[qi];
    const q1 = queries.offsets[qi + 1];
    if (q0 === undefined || q1 === undefined) throw new InputError(`MaxSimKernel.score: query item ${qi} is out of range.`);
    const source = isRagged(docs) ? raggedSource(docs) : docs;
    const nDocs = isRagged(docs) ? docs.offsets.length - 1 : docs.size;
    const ids = items ?? Int32Array.from({ length: nDocs }, (_, i) => i);
    const out = new Float32Array(ids.length);
    const nq = q1 - q0;
    if (nq === 0 || ids.length === 0) return out;
    const lengths = new Int32Array(ids.length);
    let work = 0;
    for (let i = 0; i < ids.length; i++) {
      const doc = ids[i]!;
      if (!(doc >= 0 && doc < nDocs && Number.isInteger(doc))) throw new InputError(`MaxSimKernel.score: document item ${doc} is out of range (0..${nDocs - 1}).`);
      lengths[i] = source.tokens(doc);
      work += lengths[i]!;
    }
    if (work * nq * dim < this.#jsThreshold) {
      if (isRagged(docs)) for (let i = 0; i < ids.length; i++) out[i] = maxSim(queries, qi, docs, ids[i]!);
      else {
        const one = { dim, offsets: new Int32Array(2), data: this.#scratch(0) };
        for (let i = 0; i < ids.length; i++) {
          one.offsets[1] = lengths[i]!;
          one.data = this.#scratch(lengths[i]! * dim);
          source.write(ids[i]!, one.data, 0);
          out[i] = maxSim(queries, qi, one, 0);
        }
      }
      return out;
    }
    const query = queries.data.subarray(q0 * dim, q1 * dim);
    if (dim >= SEGMENT_MIN_DIM) return this.#scoreSegments(query, nq, dim, source, ids, lengths, out, signal);
    const order = Array.from({ length: ids.length }, (_, i) => i).filter((i) => lengths[i]! > 0);
    order.sort((a, b) => lengths[a]! - lengths[b]!);
    let start = 0;
    while (start < order.length) {
      throwIfAborted(signal, 'MaxSim scoring');
      // Grow the block while it fits and padding stays under ~25% of the real tokens.
      let end = start + 1;
      let real = lengths[order[start]!]!;
      while (end < order.length) {
        const L = lengths[order[end]!]!;
        const padded = (end - start + 1) * L;
        if (padded * dim > this.#blockFloats || padded > 1.25 * (real + L)) break;
        real += L;
        end++;
      }
      const count = end - start;
      const L = lengths[order[end - 1]!]!;
      const block = this.#scratch(count * L * dim);
      for (let b = 0; b < count; b++) {
        const item = order[start + b]!;
        const n = lengths[item]!;
        const base = b * L * dim;
        source.write(ids[item]!, block, base);
        for (let t = n; t < L; t++) block.copyWithin(base + t * dim, base, base + dim);
      }
      const scores = await this.scoreBlock(query, dim, block, count, L);
      for (let b = 0; b < count; b++) out[order[start + b]!] = scores[b]!;
      start = end;
    }
    return out;
  }

  /**
   * Wide tokens: the candidates written end to end (no padding, in the order given), as many
   * per GEMM as fit in blockFloats, into a preallocated `[q, t]` output; max and sum in JS.
   */
  async #scoreSegments(
    query: Float32Array,
    nq: number,
    dim: number,
    source: TokenSource,
    ids: ArrayLike<number>,
    lengths: Int32Array,
    out: Float32Array,
    signal: AbortSignal | undefined,
  ): Promise<Float32Array> {
    const session = await this.#session(dim, 'segments');
    const Q = new ort.Tensor('float32', query, [nq, dim]);
    let start = 0;
    while (start < ids.length) {
      throwIfAborted(signal, 'MaxSim scoring');
      let end = start;
      let tokens = 0;
      while (end < ids.length && (end === start || (tokens + lengths[end]!) * dim <= this.#blockFloats)) tokens += lengths[end++]!;
      if (tokens === 0) {
        start = end;
        continue;
      }
      const block = this.#scratch(tokens * dim);
      for (let i = start, at = 0; i < end; i++) {
        source.write(ids[i]!, block, at);
        at += lengths[i]! * dim;
      }
      if (this.#output.length < nq * tokens) this.#output = new Float32Array(nq * tokens);
      const S = this.#output.subarray(0, nq * tokens);
      // A preallocated output: onnxruntime writes into it instead of allocating [q, t] per call.
      const result = await session.run({ Q, D: new ort.Tensor('float32', block, [tokens, dim]) }, { S: new ort.Tensor('float32', S, [nq, tokens]) });
      segmentMaxSum(result.S!.data as Float32Array, nq, tokens, lengths, start, end, out);
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

/** out[i] = sum over query rows of the max of S over document i's columns (documents start..end, laid end to end). */
function segmentMaxSum(S: Float32Array, nq: number, tokens: number, lengths: Int32Array, start: number, end: number, out: Float32Array): void {
  const sums = new Float64Array(end - start);
  for (let r = 0; r < nq; r++) {
    let t = r * tokens;
    for (let i = start; i < end; i++) {
      const n = lengths[i]!;
      if (n === 0) continue;
      let best = S[t]!;
      for (let j = t + 1, stop = t + n; j < stop; j++) if (S[j]! > best) best = S[j]!;
      sums[i - start]! += best;
      t += n;
    }
  }
  for (let i = start; i < end; i++) out[i] = sums[i - start]!;
}

function isRagged(docs: RaggedMatrix | TokenSource): docs is RaggedMatrix {
  return (docs as RaggedMatrix).offsets instanceof Int32Array && (docs as RaggedMatrix).data instanceof Float32Array && typeof (docs as TokenSource).write !== 'function';
}

/** A ragged matrix as a token source (a plain copy per document). */
function raggedSource(m: RaggedMatrix): TokenSource {
  return {
    dim: m.dim,
    size: m.offsets.length - 1,
    tokens: (i) => m.offsets[i + 1]! - m.offsets[i]!,
    write: (i, out, offset) => out.set(m.data.subarray(m.offsets[i]! * m.dim, m.offsets[i + 1]! * m.dim), offset),
  };
}
