// MaxSim kernel throughput against this machine's fp32 GEMM peak (an onnxruntime MatMul of
// 1024 x 1024 x 1024 with the same thread count), all as CPU-time rates (process.cpuUsage:
// every thread of this process) measured in the same run: the machine is shared, so wall
// rates would mostly measure the other jobs.
//   npm run bench:kernel -w @quarry/colbert
import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { SeededRandom } from '@quarry/core';
import { DataType, GraphBuilder } from '@quarry/encoders';
import { DocTokenStore, MaxSimKernel, maxSim } from '@quarry/colbert';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const THREADS = 2;
const rng = new SeededRandom(5);
const fill = (n) => Float32Array.from({ length: n }, () => rng.next() - 0.5);
const cpuSeconds = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

/** Runs `fn` repeatedly for about `ms` milliseconds of wall time (after one warm-up call); returns calls per CPU-second. */
async function cpuRate(fn, ms = 1500) {
  await fn();
  let reps = 0;
  const c = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await fn();
    reps++;
  }
  return reps / cpuSeconds(c);
}

async function gemmPeak() {
  const g = new GraphBuilder('peak', 17);
  g.input('A', DataType.FLOAT, [1024, 1024]);
  g.input('B', DataType.FLOAT, [1024, 1024]);
  g.node('MatMul', ['A', 'B'], {}, ['C']);
  g.output('C', DataType.FLOAT, [1024, 1024]);
  // Same session options as the kernel (workers sleep instead of spinning).
  const session = await ort.InferenceSession.create(g.build(), { intraOpNumThreads: THREADS, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const feeds = { A: new ort.Tensor('float32', fill(1 << 20), [1024, 1024]), B: new ort.Tensor('float32', fill(1 << 20), [1024, 1024]) };
  const perCpuSecond = await cpuRate(() => session.run(feeds), 3000);
  await session.release();
  return (2 * 1024 ** 3 * perCpuSecond) / 1e9;
}

/** A stand-in token encoder: random unit vectors, `lengths[i]` tokens for text `i` (the text is its index). */
function randomEncoder(dim, lengths) {
  return {
    dim,
    async encodeTokens(texts) {
      const offsets = new Int32Array(texts.length + 1);
      texts.forEach((t, i) => (offsets[i + 1] = offsets[i] + lengths[Number(t)]));
      const data = fill(offsets[texts.length] * dim);
      for (let r = 0; r < offsets[texts.length]; r++) {
        let n = 0;
        for (let j = 0; j < dim; j++) n += data[r * dim + j] ** 2;
        for (let j = 0; j < dim; j++) data[r * dim + j] /= Math.sqrt(n);
      }
      return { dim, offsets, data };
    },
  };
}

const peak = await gemmPeak();
const kernel = new MaxSimKernel({ threads: THREADS, jsThreshold: 0 });
const rows = [];
// Synthetic shapes: 32 query tokens x 200 documents of fixed length.
for (const dim of [64, 128]) {
  for (const docTokens of [64, 256, 1024]) {
    const docs = 200;
    const q = { dim, offsets: Int32Array.of(0, 32), data: fill(32 * dim) };
    const d = { dim, offsets: Int32Array.from({ length: docs + 1 }, (_, i) => i * docTokens), data: fill(docs * docTokens * dim) };
    const flops = 2 * 32 * docTokens * dim * docs;
    let sink = 0;
    const naive = await cpuRate(() => {
      for (let i = 0; i < docs; i++) sink += maxSim(q, 0, d, i);
    }, 1000);
    const block = await cpuRate(() => kernel.scoreBlock(q.data, dim, d.data, docs, docTokens));
    const full = await cpuRate(() => kernel.score(q, 0, d));
    if (sink === 42) console.log('');
    const gf = (r) => (flops * r) / 1e9;
    rows.push([
      `synthetic: 32 q tokens, 200 docs x ${docTokens}`,
      dim,
      gf(naive).toFixed(1),
      gf(block).toFixed(1),
      `${((gf(block) / peak) * 100).toFixed(0)}%`,
      gf(full).toFixed(1),
      `${((gf(full) / peak) * 100).toFixed(0)}%`,
    ]);
    console.error(rows.at(-1));
  }
}
// As colbert-rerank calls it: 18 query tokens (SciFact claims average 18) against 100 candidates
// of 100-620 tokens (BM25's top 100 average 359) gathered from a 1,000-document store.
const corpusDocs = 1000;
const lengths = Array.from({ length: corpusDocs }, () => 100 + rng.int(520));
for (const dim of [64, 256]) {
  const fp32 = await DocTokenStore.build(
    Array.from({ length: corpusDocs }, (_, i) => ({ id: `d${i}`, text: String(i) })),
    randomEncoder(dim, lengths),
    { dim, precision: 'fp32', model: 'random', batchSize: 500 },
  );
  for (const precision of ['fp32', 'fp16', 'int8']) {
    const store = precision === 'fp32' ? fp32 : await fp32.convert(precision);
    const q = { dim, offsets: Int32Array.of(0, 18), data: fill(18 * dim) };
    const candidates = Array.from({ length: 20 }, () => Int32Array.from({ length: 100 }, () => rng.int(corpusDocs)));
    let flops = 0;
    for (const c of candidates) for (const slot of c) flops += (2 * 18 * store.tokens(slot) * dim) / candidates.length;
    let i = 0;
    const called = await cpuRate(() => kernel.score(q, 0, store, candidates[i++ % candidates.length]));
    const gf = (flops * called) / 1e9;
    rows.push([`as called: 18 q tokens, 100 of ${corpusDocs} stored docs (${precision})`, dim, '—', '—', '—', gf.toFixed(1), `${((gf / peak) * 100).toFixed(0)}%`]);
    console.error(rows.at(-1));
  }
}
await kernel.release();
const markdown = `Exact MaxSim, ${THREADS} onnxruntime threads, every rate in **GFLOP per CPU-second** (process.cpuUsage over all threads; load average ${loadavg()[0].toFixed(1)} on 2 cores at the end of the run). Peak: an onnxruntime fp32 MatMul 1024 x 1024 x 1024 measured in the same run at **${peak.toFixed(1)} GFLOP per CPU-second**. "Plain JS" is \`maxSim\` (4 accumulators). "Prepared block": \`MaxSimKernel.scoreBlock\` on documents already laid out \`[n, length, dim]\`. "As called": \`MaxSimKernel.score\` end to end — gather (and decode, for fp16 / int8) of the candidates from a \`DocTokenStore\` into the kernel's buffer, then padded length-sorted blocks below 192-d, or from 192-d one unpadded GEMM \`Q x D^T\` with the max over each document's tokens and the sum over query tokens in JS; the "as called" rows use colbert-rerank's shapes on SciFact.

${table(['case', 'dim', 'plain JS', 'prepared block', '% of peak', 'as called', '% of peak'], rows)}`;
writeBenchSection('colbert', { title: 'ColBERT exact MaxSim kernel', command: 'npm run bench:kernel -w @quarry/colbert', markdown });
console.log(markdown);
process.exit(0);
