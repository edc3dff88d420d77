// Exact MaxSim throughput against this machine's measured scalar peak for the same
// arithmetic (a long contiguous dot product in plain JS, one core). Query: 32 tokens
// (ColBERT's fixed query length); documents of 64 / 256 / 1024 tokens; dims 64 / 128.
import { SeededRandom } from '@quarry/core';
import { maxSim } from '@quarry/colbert';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const rng = new SeededRandom(5);
const ragged = (items, tokens, dim) => {
  const data = new Float32Array(items * tokens * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() - 0.5;
  return { dim, offsets: Int32Array.from({ length: items + 1 }, (_, i) => i * tokens), data };
};

/** GFLOP/s of a plain dot product over `n` floats, repeated: the scalar peak JS reaches here. */
function peakGflops(n = 1 << 16, seconds = 1) {
  const a = new Float32Array(n).map(() => rng.next());
  const b = new Float32Array(n).map(() => rng.next());
  let reps = 0;
  let sink = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < n; k += 4) {
      s0 += a[k] * b[k];
      s1 += a[k + 1] * b[k + 1];
      s2 += a[k + 2] * b[k + 2];
      s3 += a[k + 3] * b[k + 3];
    }
    sink += s0 + s1 + s2 + s3;
    reps++;
  }
  const secs = (performance.now() - t0) / 1000;
  if (sink === 42) console.log('');
  return (2 * n * reps) / secs / 1e9;
}

const peak = peakGflops();
const rows = [];
for (const dim of [64, 128]) {
  for (const docTokens of [64, 256, 1024]) {
    const docs = 200;
    const q = ragged(1, 32, dim);
    const d = ragged(docs, docTokens, dim);
    let sink = 0;
    for (let i = 0; i < docs; i++) sink += maxSim(q, 0, d, i); // warm-up
    let reps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1000) {
      for (let i = 0; i < docs; i++) sink += maxSim(q, 0, d, i);
      reps++;
    }
    const secs = (performance.now() - t0) / 1000;
    const gflops = (2 * 32 * docTokens * dim * docs * reps) / secs / 1e9;
    const docsPerSec = (docs * reps) / secs;
    rows.push([dim, docTokens, docsPerSec.toFixed(0), (1000 / docsPerSec * 100).toFixed(1), gflops.toFixed(2), `${((gflops / peak) * 100).toFixed(0)}%`]);
    if (sink === 42) console.log('');
  }
}
const markdown = `Exact MaxSim (\`maxSim\`, one core) for a 32-token query against documents of 64 / 256 / 1024 tokens. Peak: a plain-JS contiguous dot product (4 accumulators, Float32Array) measured in the same run at **${peak.toFixed(2)} GFLOP/s**; the kernel's efficiency is reported against it. "ms / 100 candidates" is the reranking cost of one query over 100 documents of that length.

${table(['dim', 'doc tokens', 'docs/s', 'ms / 100 candidates', 'GFLOP/s', '% of measured peak'], rows)}`;
writeBenchSection('colbert', { title: 'ColBERT exact MaxSim kernel', command: 'npm run bench -w @quarry/colbert', markdown });
console.log(markdown);
