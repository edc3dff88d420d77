// ColBERT on SciFact: Matryoshka x nbits table, PLAID vs exact MaxSim at three corpus
// sizes, and streaming build time / peak RSS at three sizes (each in its own process).
//   npm run bench:plaid -w @quarry/colbert            (full run)
//   node bench/plaid.mjs --quick                        (small sizes, to check it runs)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDocStore, docText, evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { ColbertRetriever, Gemm, MaxSimKernel, PlaidIndex, colbertCentroidCount, loadTokenEncoder, sphericalKMeans, truncateTokens } from '@quarry/colbert';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
// --only=matryoshka,exact,build runs (and writes) just those parts.
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const runs = (part) => !only || only.includes(part);
const modelDir = process.argv.find((a) => a.startsWith('--encoder='))?.slice(10);

// Child mode: build one index over the first N docs, print time and peak RSS.
if (process.argv[2] === '--build-child') {
  const n = Number(process.argv[3]);
  const dataset = openBeirDataset(join(here, '../../../datasets/scifact'));
  const docs = [];
  for await (const d of readCorpus(dataset.corpusFile)) if (docs.length < n) docs.push(d);
  const { encoder, label } = await loadTokenEncoder(process.argv[4] === '-' ? undefined : process.argv[4]);
  const t0 = performance.now();
  const r = await ColbertRetriever.build(docs, encoder, { dim: 64, nbits: 2, model: label, threads: 2 });
  const seconds = (performance.now() - t0) / 1000;
  const dir = mkdtempSync(join(tmpdir(), 'quarry-plaid-bench-'));
  await r.save(join(dir, 'i'));
  const bytes = readdirSync(join(dir, 'i')).reduce((s, f) => s + statSync(join(dir, 'i', f)).size, 0);
  rmSync(dir, { recursive: true, force: true });
  // VmHWM (this process's own peak RSS): ru_maxrss would also carry the parent's peak across exec.
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN);
  console.log(JSON.stringify({ docs: n, tokens: r.index.tokenCount, centroids: r.index.centroidCount, seconds, peakRssMb: hwm / 1024, indexMb: bytes / 1e6 }));
  process.exit(0);
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const dataset = openBeirDataset(join(here, '../../../datasets/scifact'));
const all = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile));
const docs = [...all].slice(0, quick ? 600 : all.size);
const { encoder, label } = await loadTokenEncoder(modelDir);
const splits = {};
for (const s of ['test', 'test-unseen']) splits[s] = await loadSplit(dataset, s);
const gemm = new Gemm(2);
const kernel = new MaxSimKernel({ threads: 2 });

/** Float token vectors of every document at `dim` (bench only: the index itself never holds these). */
async function encodeAll(dim) {
  const parts = [];
  for (let i = 0; i < docs.length; i += 64) {
    parts.push(
      truncateTokens(
        await encoder.encodeTokens(
          docs.slice(i, i + 64).map((d) => docText(d)),
          { role: 'document' },
        ),
        dim,
      ),
    );
  }
  const offsets = new Int32Array(docs.length + 1);
  let at = 0;
  for (const p of parts) for (let j = 1; j < p.offsets.length; j++) offsets[++at] = offsets[at - 1] + (p.offsets[j] - p.offsets[j - 1]);
  const data = new Float32Array(offsets[docs.length] * dim);
  let row = 0;
  for (const p of parts) {
    data.set(p.data, row * dim);
    row += p.data.length / dim;
  }
  return { dim, offsets, data };
}

const slice = (m, from, to) => ({ dim: m.dim, offsets: m.offsets.subarray(from, to + 1).map((o) => o - m.offsets[from]), data: m.data.subarray(m.offsets[from] * m.dim, m.offsets[to] * m.dim) });

async function buildIndex(tokens, count, nbits, centroids) {
  const sub = slice(tokens, 0, count);
  const sampleRows = Math.min(sub.data.length / sub.dim, 1 << 18);
  const sample = { dim: sub.dim, offsets: Int32Array.of(0, sampleRows), data: sub.data.subarray(0, sampleRows * sub.dim) };
  const index = await PlaidIndex.fromCentroids(sample, centroids, label, gemm, nbits);
  for (let i = 0; i < count; i += 256) {
    const end = Math.min(count, i + 256);
    await index.add(
      docs.slice(i, end).map((d) => d.id),
      slice(sub, i, end),
      gemm,
    );
  }
  return index;
}

async function centroidsFor(tokens, count) {
  const sub = slice(tokens, 0, count);
  const rows = sub.data.length / sub.dim;
  const sampleRows = Math.min(rows, 1 << 18);
  const k = Math.min(colbertCentroidCount(rows), Math.floor(sampleRows / 4));
  return sphericalKMeans(sub.data.subarray(0, sampleRows * sub.dim), sub.dim, k, gemm, { seed: 12345 });
}

async function queryTokens(texts, dim) {
  return truncateTokens(await encoder.encodeTokens(texts, { role: 'query' }), dim);
}

async function evalIndex(index, dim) {
  const out = {};
  let ms = 0;
  let n = 0;
  for (const [name, { queries, qrels }] of Object.entries(splits)) {
    const q = await queryTokens(
      queries.map((x) => x.text),
      dim,
    );
    const run = new Map();
    for (let i = 0; i < queries.length; i++) {
      const data = q.data.subarray(q.offsets[i] * dim, q.offsets[i + 1] * dim);
      const t0 = performance.now();
      const hits = await index.search(data, gemm, kernel, { k: 10 });
      ms += performance.now() - t0;
      n++;
      run.set(
        queries[i].id,
        hits.map((h) => ({ id: index.idOf(h.slot), score: h.score })),
      );
    }
    out[name] = evaluate(run, qrels, ['ndcg@10']).metrics['ndcg@10'];
  }
  return { ...out, msPerQuery: ms / n };
}

// 1. Matryoshka x nbits on the whole corpus (PLAID search, k = 10, PLAID's defaults).
const matryoshka = [];
const floatTokens = {};
const dims = runs('matryoshka') ? (quick ? [64] : [32, 64, 128]) : runs('exact') ? [64] : [];
for (const dim of dims) {
  const tokens = await encodeAll(dim);
  floatTokens[dim] = tokens;
  const centroids = await centroidsFor(tokens, docs.length);
  for (const nbits of !runs('matryoshka') ? [] : dim === 64 ? [1, 2, 4] : [2]) {
    const index = await buildIndex(tokens, docs.length, nbits, centroids);
    const dir = mkdtempSync(join(tmpdir(), 'quarry-plaid-bench-'));
    await index.save(join(dir, 'i'));
    const bytes = readdirSync(join(dir, 'i')).reduce((s, f) => s + statSync(join(dir, 'i', f)).size, 0);
    rmSync(dir, { recursive: true, force: true });
    const r = await evalIndex(index, dim);
    matryoshka.push([dim, nbits, r.test.toFixed(4), r['test-unseen'].toFixed(4), index.bytesPerToken, (dim * 2).toString(), (bytes / 1e6).toFixed(1), r.msPerQuery.toFixed(1)]);
    console.error('matryoshka', dim, nbits, r);
  }
  if (dim !== 64) delete floatTokens[dim];
}

// 2. PLAID vs exact MaxSim (float vectors, every document) at three sizes, dim 64, 2 bits.
const tokens64 = floatTokens[64];
const vsExact = [];
const testQueries = splits.test.queries;
const q64 = await queryTokens(
  testQueries.map((x) => x.text),
  64,
);
for (const count of !runs('exact') ? [] : quick ? [150, 300, 600] : [1296, 2592, docs.length]) {
  const centroids = await centroidsFor(tokens64, count);
  const index = await buildIndex(tokens64, count, 2, centroids);
  const exactDocs = slice(tokens64, 0, count);
  let exactMs = 0;
  let plaidMs = 0;
  let overlap = 0;
  for (let i = 0; i < testQueries.length; i++) {
    const data = q64.data.subarray(q64.offsets[i] * 64, q64.offsets[i + 1] * 64);
    const qm = { dim: 64, offsets: Int32Array.of(0, data.length / 64), data };
    let t0 = performance.now();
    const scores = await kernel.score(qm, 0, exactDocs);
    const exact = Array.from(scores.keys())
      .sort((a, b) => scores[b] - scores[a] || a - b)
      .slice(0, 10);
    exactMs += performance.now() - t0;
    t0 = performance.now();
    const hits = await index.search(data, gemm, kernel, { k: 10 });
    plaidMs += performance.now() - t0;
    const set = new Set(exact);
    overlap += hits.filter((h) => set.has(h.slot)).length / 10;
  }
  const n = testQueries.length;
  vsExact.push([count, index.tokenCount, index.centroidCount, (overlap / n).toFixed(3), (exactMs / n).toFixed(1), (plaidMs / n).toFixed(1), `${(exactMs / plaidMs).toFixed(1)}x`]);
  console.error('vs exact', vsExact.at(-1));
}

// 3. Streaming build (ColbertRetriever.build, dim 64, 2 bits), one process per size.
const builds = [];
for (const count of !runs('build') ? [] : quick ? [150, 300, 600] : [1296, 2592, docs.length]) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--build-child', String(count), modelDir ?? '-'], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  builds.push([r.docs, r.tokens, r.centroids, r.seconds.toFixed(1), Math.round(r.tokens / r.seconds), r.peakRssMb.toFixed(0), r.indexMb.toFixed(1)]);
  console.error('build', r);
}
await gemm.release();
await kernel.release();

const header = `Token model: \`${label}\`. Machine: ${machine}. onnxruntime with 2 threads.${quick ? ' **Quick run (600 docs): not the reported figures.**' : ''}`;
const parts = {
  matryoshka: `${header} Full PLAID retrieval over the whole SciFact corpus (${docs.length} docs), k = 10 with PLAID's defaults (nprobe 1, centroid score threshold 0.5, ndocs 256); fp16 would take 2 bytes per dimension.

${table(['dim', 'nbits', 'nDCG@10 test', 'nDCG@10 test-unseen', 'bytes / token', 'fp16 bytes / token', 'index MB', 'ms / query'], matryoshka)}`,
  exact: `${header} Exact: every document's float vectors through the MaxSim kernel. Overlap of the top 10 over SciFact's 300 test queries; dim 64, 2 bits, PLAID defaults for k = 10.

${table(['docs', 'tokens', 'centroids', 'top-10 overlap', 'exact ms / query', 'PLAID ms / query', 'speed-up'], vsExact)}`,
  build: `${header} \`ColbertRetriever.build\` (sample -> k-means -> encode + compress in batches), each size in its own process (peak RSS = that process's VmHWM); dim 64, 2 bits.

${table(['docs', 'tokens', 'centroids', 'seconds', 'tokens / s', 'peak RSS MB', 'index MB'], builds)}`,
};
const titles = { matryoshka: 'ColBERT PLAID index: Matryoshka dim x residual bits on SciFact', exact: 'ColBERT PLAID vs exact MaxSim', build: 'ColBERT PLAID streaming build' };
for (const [part, markdown] of Object.entries(parts)) {
  if (!runs(part)) continue;
  if (!quick) writeBenchSection(`colbert-plaid-${part}`, { title: titles[part], command: `npm run bench:plaid -w @quarry/colbert -- --only=${part}`, markdown });
  console.log(markdown);
}
