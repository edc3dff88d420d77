// Engine measurement for Quarry's own transformer (issue #17 item 2): the GEMM shapes of
// one training step, run by (a) a hand-written register-tiled JavaScript kernel and
// (b) onnxruntime-node's MatMul (MLAS), per-call overhead included (tensor creation + run).
// Rates are FLOP per CPU-second (process.cpuUsage: user+system of all threads), so that
// the 2-thread figures are comparable on a loaded machine.
//   node packages/encoders/bench/transformer-gemm.mjs [--reps 5]
import * as ort from 'onnxruntime-node';
import { GraphBuilder, DataType } from '../dist/index.js';

// C[b] = A[b] (M x K) . B[b] (K x N), row-major; 4 rows of C at a time (i-k-j order, the
// inner loop runs over contiguous columns of B and C).
function jsGemm(A, B, C, batch, M, K, N) {
  C.fill(0);
  for (let b = 0; b < batch; b++) {
    const ao = b * M * K,
      bo = b * K * N,
      co = b * M * N;
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const c0 = co + i * N,
        c1 = c0 + N,
        c2 = c1 + N,
        c3 = c2 + N;
      const a0 = ao + i * K,
        a1 = a0 + K,
        a2 = a1 + K,
        a3 = a2 + K;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k],
          x1 = A[a1 + k],
          x2 = A[a2 + k],
          x3 = A[a3 + k];
        const br = bo + k * N;
        for (let j = 0; j < N; j++) {
          const y = B[br + j];
          C[c0 + j] += x0 * y;
          C[c1 + j] += x1 * y;
          C[c2 + j] += x2 * y;
          C[c3 + j] += x3 * y;
        }
      }
    }
    for (; i < M; i++) {
      const c0 = co + i * N,
        a0 = ao + i * K;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k],
          br = bo + k * N;
        for (let j = 0; j < N; j++) C[c0 + j] += x0 * B[br + j];
      }
    }
  }
}

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1] || 5) || 5;
const shapes = [
  { name: '[4096x256]x[256x256]', batch: 1, M: 4096, K: 256, N: 256 },
  { name: '[4096x256]x[256x1024]', batch: 1, M: 4096, K: 256, N: 1024 },
  { name: '[4096x1024]x[1024x256]', batch: 1, M: 4096, K: 1024, N: 256 },
  { name: 'attn [256,64,64]x[256,64,64]', batch: 256, M: 64, K: 64, N: 64 },
  { name: 'attn [128,128,64]x[128,64,128]', batch: 128, M: 128, K: 64, N: 128 },
];

function rand(n) {
  const a = new Float32Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

function cpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function session(threads) {
  const g = new GraphBuilder('gemm');
  g.input('A', DataType.FLOAT, ['b', 'm', 'k']);
  g.input('B', DataType.FLOAT, ['b', 'k', 'n']);
  g.node('MatMul', ['A', 'B'], {}, ['C']);
  g.output('C', DataType.FLOAT, ['b', 'm', 'n']);
  return ort.InferenceSession.create(g.build(), { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
}

const rows = [];
const s1 = await session(1);
const s2 = await session(2);
for (const sh of shapes) {
  const { batch, M, K, N } = sh;
  const flops = 2 * batch * M * K * N;
  const A = rand(batch * M * K);
  const B = rand(batch * K * N);
  const C = new Float32Array(batch * M * N);
  // JS kernel
  jsGemm(A, B, C, batch, M, K, N);
  let t = cpu();
  for (let r = 0; r < reps; r++) jsGemm(A, B, C, batch, M, K, N);
  const js = (flops * reps) / (cpu() - t) / 1e9;
  const ref = C.slice();
  const out = {};
  for (const [label, s] of [
    ['ort1', s1],
    ['ort2', s2],
  ]) {
    const feeds = () => ({ A: new ort.Tensor('float32', A, [batch, M, K]), B: new ort.Tensor('float32', B, [batch, K, N]) });
    let res = await s.run(feeds());
    t = cpu();
    const w = performance.now();
    for (let r = 0; r < reps; r++) res = await s.run(feeds());
    out[label] = (flops * reps) / (cpu() - t) / 1e9;
    out[`${label}wall`] = (flops * reps) / ((performance.now() - w) / 1e3) / 1e9;
    let maxDiff = 0;
    const c = res.C.data;
    for (let i = 0; i < c.length; i++) maxDiff = Math.max(maxDiff, Math.abs(c[i] - ref[i]));
    out[`${label}diff`] = maxDiff;
  }
  rows.push({
    shape: sh.name,
    'js GF/cpu-s': js.toFixed(2),
    'ort 1t GF/cpu-s': out.ort1.toFixed(1),
    'ort 2t GF/cpu-s': out.ort2.toFixed(1),
    'ort 2t GF/wall-s': out.ort2wall.toFixed(1),
    'max|ort-js|': out.ort2diff.toExponential(1),
  });
}
// Per-call overhead: a tiny MatMul.
{
  const A = rand(4),
    B = rand(4);
  const n = 2000;
  const t = cpu();
  const w = performance.now();
  for (let r = 0; r < n; r++) await s1.run({ A: new ort.Tensor('float32', A, [1, 2, 2]), B: new ort.Tensor('float32', B, [1, 2, 2]) });
  rows.push({ shape: 'ort per-call overhead', 'ort 1t GF/cpu-s': `${((1e6 * (cpu() - t)) / n).toFixed(0)} us cpu`, 'ort 2t GF/wall-s': `${((1e3 * (performance.now() - w)) / n).toFixed(0)} us wall` });
}
console.table(rows);
