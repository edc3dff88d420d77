import * as ort from 'onnxruntime-node';
import { InputError } from '@quarry/core';
import { DataType, GraphBuilder } from '@quarry/encoders';

/** Rows per inference call when assigning vectors (bounds the [rows x centroids] scratch inside onnxruntime). */
const ASSIGN_ROWS = 2048;

function productGraph(dim: number): Uint8Array {
  const g = new GraphBuilder('product', 17);
  g.input('A', DataType.FLOAT, ['m', dim]);
  g.input('B', DataType.FLOAT, ['n', dim]);
  g.node('Gemm', ['A', 'B'], { transB: 1 }, ['C']);
  g.output('C', DataType.FLOAT, ['m', 'n']);
  return g.build('Quarry: A x B^T');
}

function assignGraph(dim: number): Uint8Array {
  const g = new GraphBuilder('assign', 17);
  g.input('X', DataType.FLOAT, ['m', dim]);
  g.input('C', DataType.FLOAT, ['k', dim]);
  const s = g.node('Gemm', ['X', 'C'], { transB: 1 });
  g.node('ArgMax', [s], { axis: 1, keepdims: 0 }, ['code']);
  g.node('ReduceMax', [s], { axes: [1], keepdims: 0 }, ['score']);
  g.output('code', DataType.INT64, ['m']);
  g.output('score', DataType.FLOAT, ['m']);
  return g.build('Quarry: nearest centroid (largest dot product) of each row');
}

/**
 * Dense products on onnxruntime's GEMM, for the two places the index needs them at scale:
 * query-token x centroid scores, and assigning token vectors to their nearest centroid
 * (k-means and compression). One session per (graph, dim), created on first use.
 */
export class Gemm {
  readonly #sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(readonly threads: number) {}

  #session(kind: 'product' | 'assign', dim: number): Promise<ort.InferenceSession> {
    const key = `${kind}:${dim}`;
    let session = this.#sessions.get(key);
    if (!session) {
      session = ort.InferenceSession.create(kind === 'product' ? productGraph(dim) : assignGraph(dim), {
        intraOpNumThreads: this.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      this.#sessions.set(key, session);
    }
    return session;
  }

  /** `A x B^T` for row-major A (`m x dim`) and B (`n x dim`): an `m x n` matrix. */
  async product(a: Float32Array, b: Float32Array, dim: number): Promise<Float32Array> {
    checkRows(a, dim, 'A');
    checkRows(b, dim, 'B');
    const session = await this.#session('product', dim);
    const out = await session.run({ A: new ort.Tensor('float32', a, [a.length / dim, dim]), B: new ort.Tensor('float32', b, [b.length / dim, dim]) });
    return out.C!.data as Float32Array;
  }

  /** For each row of `x`, the index of the centroid with the largest dot product, and that product. */
  async assign(x: Float32Array, centroids: Float32Array, dim: number): Promise<{ codes: Int32Array; scores: Float32Array }> {
    checkRows(x, dim, 'X');
    checkRows(centroids, dim, 'centroids');
    const rows = x.length / dim;
    const codes = new Int32Array(rows);
    const scores = new Float32Array(rows);
    const session = await this.#session('assign', dim);
    const C = new ort.Tensor('float32', centroids, [centroids.length / dim, dim]);
    for (let start = 0; start < rows; start += ASSIGN_ROWS) {
      const end = Math.min(rows, start + ASSIGN_ROWS);
      const out = await session.run({ X: new ort.Tensor('float32', x.subarray(start * dim, end * dim), [end - start, dim]), C });
      const code = out.code!.data as BigInt64Array;
      for (let i = 0; i < end - start; i++) codes[start + i] = Number(code[i]!);
      scores.set(out.score!.data as Float32Array, start);
    }
    return { codes, scores };
  }

  async release(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const s of sessions) await (await s).release();
  }
}

function checkRows(m: Float32Array, dim: number, name: string): void {
  if (m.length % dim !== 0) throw new InputError(`${name} holds ${m.length} values, not a multiple of dim ${dim}.`);
}
