#!/usr/bin/env node
// nDCG@10 on SciFact `test` and `test-unseen` for encoder model folders, alone and fused with
// BM25 (RRF, and min-max weighted score fusion), with Matryoshka prefix dims.
//
//   node bench/quality.mjs                      # the shipped models; prints the table
//   node bench/quality.mjs --write              # ... and writes the BENCHMARKS.md section
//   node bench/quality.mjs --model DIR[=label]  # any model folder(s) (repeatable)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadEncoder } from '@quarry/encoders';
import { writeBenchSection, table } from '../../../tools/bench-report.mjs';
import { PKG, SPLITS, bm25Searcher, denseSearcher, fmt, fuse, loadScifact, ndcg10 } from './scifact.mjs';

const argv = process.argv.slice(2);
const write = argv.includes('--write');
const models = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--model') {
    const [dir, label] = argv[++i].split('=');
    models.push({ dir, label: label ?? dir });
  }
}
if (models.length === 0) {
  for (const [name, label] of [
    ['scifact-static', 'own static (default)'],
    ['scifact-contextual', 'own contextual'],
    ['scifact-static-selfsup', 'own static, no SciFact query'],
  ]) {
    const dir = join(PKG, 'models', name);
    if (existsSync(dir)) models.push({ dir, label: `${label} — models/${name}` });
  }
}
const dimsArg = argv.indexOf('--dims');
const dims = dimsArg >= 0 ? argv[dimsArg + 1].split(',').map(Number) : [32, 64, 128, 256];

const { docs, splits } = await loadScifact();
const bm25 = await bm25Searcher(docs);
const bm25Runs = {};
for (const s of SPLITS) bm25Runs[s] = await bm25.run(splits[s].queries);

const rows = [['BM25 (@quarry/bm25, k1=0.9 b=0.4, English analyzer)', '-', ...SPLITS.map((s) => fmt(ndcg10(bm25Runs[s], splits[s].qrels)))]];
const results = {};
for (const { dir, label } of models) {
  const t0 = performance.now();
  const encoder = await loadEncoder(dir);
  const dense = await denseSearcher(encoder, docs);
  const encodeMs = performance.now() - t0;
  const full = encoder.dim;
  const denseRuns = {};
  for (const s of SPLITS) denseRuns[s] = await dense.run(splits[s].queries);
  const r = (run) => SPLITS.map((s) => fmt(ndcg10(run(s), splits[s].qrels)));
  rows.push([`${label}`, String(full), ...r((s) => denseRuns[s])]);
  rows.push([`${label} + BM25, RRF (k=60)`, String(full), ...r((s) => fuse([denseRuns[s], bm25Runs[s]], 'rrf'))]);
  rows.push([`${label} + BM25, score fusion (min-max, 1:1)`, String(full), ...r((s) => fuse([denseRuns[s], bm25Runs[s]], 'weighted'))]);
  for (const d of dims.filter((x) => x < full)) {
    const runs = {};
    for (const s of SPLITS) runs[s] = await dense.run(splits[s].queries, { dim: d });
    rows.push([`${label}, Matryoshka prefix`, String(d), ...r((s) => runs[s])]);
  }
  results[label] = Object.fromEntries(SPLITS.map((s) => [s, ndcg10(denseRuns[s], splits[s].qrels)]));
  console.error(`${label}: loaded + encoded ${docs.length} docs in ${(encodeMs / 1000).toFixed(1)} s`);
}

const markdown = [
  'nDCG@10 on BEIR SciFact (5,183 docs). `test` = the 300 official test queries; `test-unseen` = the 104 test',
  'queries none of whose relevant documents is a positive of any train query (64% of test positives are',
  'also train positives, so `test` flatters any model trained on train queries). Exact search (FlatIndex,',
  'cosine); fusion over the top 100 of each retriever.',
  '',
  table(['system', 'dim', ...SPLITS.map((s) => `nDCG@10 ${s}`)], rows),
].join('\n');
console.log(markdown);
if (write) writeBenchSection('encoders-quality', { title: '@quarry/encoders — retrieval quality (SciFact)', command: 'npm run quality -w @quarry/encoders', markdown });
