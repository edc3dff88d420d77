// colbert-rerank with document token vectors stored at index time (issue #16 item 1):
// quality and size of each storage precision, and the search phase's cost per query.
//   npm run bench:rerank -w @quarry/colbert
//   node bench/rerank.mjs --only=quality | --only=speed   (one part; each writes its own section)
//   node bench/rerank.mjs --quick      (30 queries for the speed part, to check it runs)
// The machine is shared: speed is reported in CPU time (process.cpuUsage, every thread of
// this process) as well as wall time, with the load average at the time.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDocStore, Pipeline, evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { ColbertReranker, DEFAULT_STORAGE, DocTokenStore, MaxSimKernel, loadTokenEncoder, truncateTokens } from '@quarry/colbert';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const runs = (part) => !only || only === part;
const dataset = openBeirDataset(join(here, '../../../datasets/scifact'));
const docs = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile));
const bm25 = await Bm25Index.build(docs);
const splits = {};
for (const s of ['test', 'test-unseen']) {
  const { queries, qrels } = await loadSplit(dataset, s);
  splits[s] = { queries, qrels, first: await bm25.searchBatch(queries, { k: 100 }) };
}
const { encoder, label } = await loadTokenEncoder(undefined);
const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
const ndcg = (queries, qrels, hits) => evaluate(new Map(queries.map((q, i) => [q.id, hits[i]])), qrels, ['ndcg@10']).metrics['ndcg@10'];

// --- Quality and size per precision (256-d, the reranker's default dim) -------------------
const t0 = performance.now();
const c0 = process.cpuUsage();
const fp32 = await DocTokenStore.build(docs, encoder, { dim: 256, precision: 'fp32', model: label });
const buildCpuS = cpuMs(c0) / 1000;
const buildWallS = (performance.now() - t0) / 1000;
console.error(`fp32 store: ${fp32.tokenCount} tokens, ${buildCpuS.toFixed(1)} CPU-s`);

async function rerankAll(reranker, split) {
  const { queries, first } = splits[split];
  const out = [];
  for (let i = 0; i < queries.length; i++) out.push(await reranker.rerank(queries[i], first[i], { docs }));
  return out;
}
const reference = {};
const quality = [];
for (const precision of runs('quality') ? ['fp32', 'fp16', 'int8', 'residual-4', 'residual-2'] : []) {
  const c = process.cpuUsage();
  const store = precision === 'fp32' ? fp32 : await fp32.convert(precision);
  const convertCpuS = precision === 'fp32' ? 0 : cpuMs(c) / 1000;
  const reranker = new ColbertReranker(encoder, { dim: 256, store, explainTop: 0 });
  const row = [precision + (precision === DEFAULT_STORAGE ? ' (default)' : ''), store.bytesPerToken, ((store.tokenCount * store.bytesPerToken) / 1e6).toFixed(0)];
  let maxErr = 0;
  let overlap = 0;
  let n = 0;
  for (const split of ['test', 'test-unseen']) {
    const hits = await rerankAll(reranker, split);
    row.push(ndcg(splits[split].queries, splits[split].qrels, hits).toFixed(4));
    if (precision === 'fp32') reference[split] = hits;
    for (let i = 0; i < hits.length; i++) {
      const ref = new Map(reference[split][i].map((h) => [h.id, h.score]));
      for (const h of hits[i]) maxErr = Math.max(maxErr, Math.abs(h.score - ref.get(h.id)));
      const top = new Set(reference[split][i].slice(0, 10).map((h) => h.id));
      overlap += hits[i].slice(0, 10).filter((h) => top.has(h.id)).length / Math.min(10, top.size);
      n++;
    }
  }
  row.push((overlap / n).toFixed(3), maxErr.toExponential(1), precision === 'fp32' ? `${buildCpuS.toFixed(1)} (encode)` : `+${convertCpuS.toFixed(1)}`);
  quality.push(row);
  console.error(row.join(' | '));
}

// --- Search phase per query: BM25 top 100 -> query encoding -> gather + MaxSim ---------------
// Stages timed one at a time over the same queries, then the whole pipeline end to end.
const speedQueries = splits.test.queries.slice(0, quick ? 30 : 100);
const speed = [];
const threads = 2;
async function timeSetting(name, dim, store, storage) {
  const reranker = new ColbertReranker(encoder, { dim, threads, explainTop: 0, ...(store ? { store } : {}) });
  const pipeline = new Pipeline({ name, retrievers: [{ plugin: 'bm25', options: {} }], reranker: { plugin: 'colbert', options: {}, depth: 100 }, depth: 100 }, docs, [bm25], undefined, reranker);
  const qs = storage === 'none' ? speedQueries.slice(0, 30) : speedQueries;
  for (const q of qs.slice(0, 5)) await pipeline.search(q, { k: 10 }); // warm-up (sessions, caches)
  if (storage === 'none') await new Promise((r) => setTimeout(r, 0));
  // Stages
  let c = process.cpuUsage();
  const firsts = [];
  for (const q of qs) firsts.push((await bm25.searchBatch([q], { k: 100 }))[0]);
  const bm25Ms = cpuMs(c) / qs.length;
  c = process.cpuUsage();
  const encoded = [];
  for (const q of qs) encoded.push(truncateTokens(await encoder.encodeTokens([q.text], { role: 'query' }), dim));
  const encodeMs = cpuMs(c) / qs.length;
  let maxsimMs = Number.NaN;
  let gflop = 0;
  if (store) {
    const kernel = new MaxSimKernel({ threads });
    const slots = firsts.map((f) => Int32Array.from(f, (h) => store.slotOf(h.id)));
    await kernel.score(encoded[0], 0, store, slots[0]);
    c = process.cpuUsage();
    for (let i = 0; i < qs.length; i++) await kernel.score(encoded[i], 0, store, slots[i]);
    maxsimMs = cpuMs(c) / qs.length;
    for (let i = 0; i < qs.length; i++) gflop += (2 * encoded[i].offsets[1] * slots[i].reduce((s, x) => s + store.tokens(x), 0) * dim) / 1e9;
    gflop /= qs.length;
    await kernel.release();
  }
  // End to end (pipeline.search: BM25, then rerank: query encoding, gather, MaxSim, sort)
  c = process.cpuUsage();
  const w = performance.now();
  for (const q of qs) await pipeline.search(q, { k: 10 });
  const wallS = (performance.now() - w) / 1000;
  const totalMs = cpuMs(c) / qs.length;
  speed.push([
    name,
    dim,
    storage,
    qs.length,
    bm25Ms.toFixed(2),
    encodeMs.toFixed(2),
    Number.isNaN(maxsimMs) ? '—' : maxsimMs.toFixed(2),
    Number.isNaN(maxsimMs) ? '—' : (gflop / (maxsimMs / 1000)).toFixed(1),
    totalMs.toFixed(2),
    (1000 / totalMs).toFixed(0),
    (qs.length / wallS).toFixed(0),
    loadavg()[0].toFixed(1),
  ]);
  console.error(speed.at(-1).join(' | '));
}
if (runs('speed')) {
  await timeSetting('stored, 256-d', 256, await fp32.convert(DEFAULT_STORAGE), DEFAULT_STORAGE);
  await timeSetting('stored, 256-d', 256, fp32, 'fp32');
  const fp32Small = await DocTokenStore.build(docs, encoder, { dim: 64, precision: 'fp32', model: label });
  await timeSetting('stored, 64-d', 64, await fp32Small.convert(DEFAULT_STORAGE), DEFAULT_STORAGE);
  await timeSetting('encode per query (before)', 256, undefined, 'none');
}

const intro = `Token model \`${label}\`, SciFact (${docs.size} docs, ${fp32.tokenCount} document tokens), BM25 top 100 reranked by exact MaxSim with document token vectors stored at index time (\`DocTokenStore\`, what the \`colbert\` reranker plugin builds and the pipeline saves).`;
if (runs('quality')) {
  const markdown = `${intro}

**Quality and size per storage precision** (256-d). nDCG@10 on each split; top-10 overlap and the largest absolute MaxSim score difference are against fp32 over every query of both splits. fp32 reproduces on-the-fly encoding (the pinned 0.6046 / 0.6081). Build: CPU seconds to encode the corpus once (${buildWallS.toFixed(0)} s wall on the loaded machine); other precisions are converted from it (\`DocTokenStore.convert\`; residuals fit 1024 centroids on 65536 sampled tokens).

${table(['storage', 'bytes / token', 'MB', 'nDCG@10 test', 'nDCG@10 test-unseen', 'top-10 overlap vs fp32', 'max score diff', 'build CPU-s'], quality)}`;
  writeBenchSection('colbert-stored', {
    title: 'ColBERT reranking with stored document token vectors (SciFact): quality and size',
    command: 'npm run bench:rerank -w @quarry/colbert -- --only=quality',
    markdown,
  });
  console.log(markdown);
}
if (runs('speed')) {
  const markdown = `${intro}

**Search phase per query** (one process, ${threads} onnxruntime threads, k = 10 of a BM25 top 100). Columns are CPU milliseconds per query (all threads of the process), stage by stage over the same queries; "MaxSim" is \`MaxSimKernel.score\` on the store (gather/decode of the 100 candidates + GEMM + max/sum) and its GFLOP per CPU-second; "end to end" is \`Pipeline.search\`. "QPS per CPU-s" = 1000 / end-to-end CPU ms (what one fully used core answers); "QPS wall" depends on the machine's load (load average beside it; 2 cores). "encode per query (before)" is the reranker without a store, as \`colbert-rerank\` ran before (30 queries). Peak RSS of this process: ${(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN) / 1024).toFixed(0)} MB (fp32 and int8 stores at once).

${table(['setting', 'dim', 'storage', 'queries', 'BM25 ms', 'query encoding ms', 'MaxSim ms', 'MaxSim GFLOP/CPU-s', 'end to end ms', 'QPS per CPU-s', 'QPS wall', 'load avg'], speed)}`;
  writeBenchSection('colbert-stored-speed', {
    title: 'ColBERT reranking with stored document token vectors (SciFact): search phase',
    command: 'npm run bench:rerank -w @quarry/colbert -- --only=speed',
    markdown,
  });
  console.log(markdown);
}
process.exit(0);
