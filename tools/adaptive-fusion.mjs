#!/usr/bin/env node
// Fits and reports the query-adaptive fusion of the `hybrid-adaptive` pipeline (bm25 + dense).
// Run from the repository root after `npm run build`:
//
//   node tools/adaptive-fusion.mjs fit [--work DIR]
//       Fits the trust model on SciFact *train* queries only, with out-of-sample dense runs:
//       the train queries are split into 5 folds (queries sharing a positive stay together,
//       so each held-out query's positives are unseen, as in test-unseen); per fold, the
//       default model's stage 2 (packages/encoders/tools/train-default.mjs) is re-trained
//       from models/scifact-static-selfsup on the other 4 folds and retrieves the held-out
//       fold. (The shipped model saw every train query: its train runs say nothing about
//       new queries.) Prints 5-fold cross-validated nDCG@10 of a constant weight and of the
//       sign-constrained trust model, then the model (the `fusion` entry of the pipeline).
//       --risk A fits for URisk instead (a query's loss against BM25 counts 1 + A times).
//
//   node tools/adaptive-fusion.mjs report [--ood DIR ...]
//       nDCG@10 of bm25, dense, hybrid, hybrid-adaptive through `quarry eval` on SciFact
//       test and test-unseen, and on each BEIR-layout collection given with --ood (split test).
//       Out-of-domain collections are measured only, never fitted on.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FUSION_FEATURES, evaluateQuery, fusionFeatures, parseMetric, readQrels, readTrecRun, reciprocalRankFusion, trecEvalOrder } from '@quarry/core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'apps', 'cli', 'dist', 'bin.js');
const scifact = join(root, 'datasets', 'scifact');
const argv = process.argv.slice(2);
const flag = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const work = resolve(flag('--work', join(root, 'node_modules', '.cache', 'adaptive-fusion')));
const FOLDS = 5;
const GRID = Array.from({ length: 21 }, (_, i) => i / 20);
// Trust may only grow with the dense side's confidence and with agreement on the top documents,
// and only shrink with BM25's confidence. An unconstrained fit on in-domain queries learns that
// *disagreement* with BM25 signals a useful dense hit; out of domain, where the dense model is
// unsure, the same disagreement means noise, so such signs are ruled out before fitting.
const SIGNS = {
  anchorTop1: -1,
  anchorZ1: -1,
  anchorMargin: -1,
  otherTop1: 1,
  otherZ1: 1,
  otherMargin: 1,
  overlap10: 1,
  anchorTopInOther: 1,
  otherTopInAnchor: 1,
  anchorTop10InOther: 1,
  otherTop10InAnchor: 1,
};
const L2 = Number(flag('--l2', '0.002'));
// Risk-sensitive fitting (Collins-Thompson et al.'s URisk, TREC Web 2013-14): a query's loss against BM25 alone
// counts (1 + RISK) times, its gain once. 0 maximises mean nDCG@10.
const RISK = Number(flag('--risk', '0'));

const log = (...a) => console.error(...a);
const run = (args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, QUARRY_CACHE_DIR: join(work, 'cache') }, stdio: ['ignore', 'pipe', 'ignore'] });
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sigmoid = (z) => 1 / (1 + Math.exp(-z));
const NDCG = [parseMetric('ndcg@10')];
const ndcg = (hits, judged) => evaluateQuery(trecEvalOrder(hits), judged, NDCG)['ndcg@10'];

/** Train query id -> fold: connected components of "shares a positive", shuffled with a fixed seed. */
function trainFolds() {
  const qrels = gunzipSync(readFileSync(join(scifact, 'qrels', 'train.tsv.gz')))
    .toString()
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'));
  const parent = new Map();
  const find = (x) => {
    while (parent.get(x) !== x) x = parent.get(x);
    return x;
  };
  const byDoc = new Map();
  for (const [q, d] of qrels) {
    if (!parent.has(q)) parent.set(q, q);
    if (byDoc.has(d)) parent.set(find(q), find(byDoc.get(d)));
    else byDoc.set(d, q);
  }
  const comps = [...new Set([...parent.keys()].map(find))].sort((a, b) => Number(a) - Number(b));
  let s = 7;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = comps.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [comps[i], comps[j]] = [comps[j], comps[i]];
  }
  const foldOf = new Map(comps.map((c, i) => [c, i % FOLDS]));
  return new Map([...parent.keys()].map((q) => [q, foldOf.get(find(q))]));
}

async function fitCommand() {
  const { saveModel, trainEncoder } = await import('@quarry/encoders');
  const encoders = join(root, 'packages', 'encoders');
  const data = join(work, 'train-data');
  mkdirSync(work, { recursive: true });
  if (!existsSync(join(data, 'train-queries.jsonl.gz'))) {
    execFileSync(process.execPath, [join(encoders, 'tools', 'build-training-data.mjs'), '--sentences', '5', '--out', data], { stdio: 'inherit' });
  }
  const folds = trainFolds();
  const queries = gunzipSync(readFileSync(join(scifact, 'queries.jsonl.gz')))
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const idOf = new Map(queries.map((q) => [q.text, q._id]));
  const pairs = gunzipSync(readFileSync(join(data, 'train-queries.jsonl.gz')))
    .toString()
    .trim()
    .split('\n');
  const tokenizerDir = join(encoders, 'tokenizers', 'bert-base-uncased');
  const bm25Run = join(work, 'train-bm25.trec');
  if (!existsSync(bm25Run)) run(['eval', '--dataset', scifact, '--split', 'train', '--pipeline', 'bm25', '--k', '100', '--run', bm25Run]);
  const denseRuns = [];
  for (let f = 0; f < FOLDS; f++) {
    const dir = join(work, `fold-${f}`);
    const runFile = join(dir, 'train-dense.trec');
    denseRuns.push(runFile);
    if (existsSync(runFile)) continue;
    mkdirSync(dir, { recursive: true });
    const kept = pairs.filter((l) => folds.get(idOf.get(JSON.parse(l).query)) !== f);
    writeFileSync(join(dir, 'pairs.jsonl.gz'), gzipSync(`${kept.join('\n')}\n`));
    // Stage 2 of train-default.mjs, from the shipped stage-1 (no-query) model.
    const trained = await trainEncoder({
      tokenizer: tokenizerDir,
      seed: 42,
      dim: 256,
      mrlDims: [32, 64, 128, 256],
      inferenceMaxLength: 512,
      data: join(dir, 'pairs.jsonl.gz'),
      init: join(encoders, 'models', 'scifact-static-selfsup'),
      out: join(dir, 'work'),
      overwrite: true,
      precision: 'fp32',
      epochs: 4,
      batchSize: 32,
      negatives: 3,
      lr: 0.003,
    });
    await saveModel(join(dir, 'model'), trained.model, {
      tokenizerDir,
      precision: 'int8',
      maxLength: 512,
      matryoshkaDims: [32, 64, 128, 256],
      name: `fold-${f}`,
      description: 'adaptive-fusion cross-fit fold',
    });
    run(['eval', '--dataset', scifact, '--split', 'train', '--pipeline', 'dense', '--encoder', join(dir, 'model'), '--k', '100', '--run', runFile]);
    log(`fold ${f}: trained on ${kept.length} pairs (${trained.steps} steps), retrieved the held-out queries`);
  }
  const bm25 = await readTrecRun(bm25Run);
  const dense = await Promise.all(denseRuns.map((f) => readTrecRun(f)));
  const qrels = await readQrels(join(scifact, 'qrels', 'train.tsv.gz'));
  const rows = [];
  for (const [qid, judged] of [...qrels].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const a = bm25.get(qid) ?? [];
    const b = dense[folds.get(qid) ?? 0].get(qid) ?? [];
    const grid = GRID.map((t) => ndcg(reciprocalRankFusion([a, b], { k: 60, weights: [1 - t, t], limit: 100 }), judged));
    rows.push({ qid, fold: folds.get(qid), f: fusionFeatures(a, b), grid, bm25: ndcg(a, judged), dense: ndcg(b, judged) });
  }
  writeFileSync(join(work, 'rows.json'), JSON.stringify(rows));
  const names = [...FUSION_FEATURES];
  const cv = (features) => {
    const scores = [];
    const losses = [];
    for (let f = 0; f < FOLDS; f++) {
      const model = fitTrust(
        rows.filter((r) => r.fold !== f),
        features,
      );
      for (const r of rows.filter((r) => r.fold === f)) {
        const g = interpolate(r.grid, trustOf(model, r.f));
        scores.push(g);
        losses.push(Math.max(0, r.bm25 - g));
      }
    }
    return `${mean(scores).toFixed(4)} (mean loss against BM25 ${mean(losses).toFixed(4)})`;
  };
  const fixed = GRID.map((_, i) => mean(rows.map((r) => r.grid[i])));
  const best = fixed.indexOf(Math.max(...fixed));
  log(
    `SciFact train (${rows.length} queries, out-of-sample dense): bm25 ${mean(rows.map((r) => r.bm25)).toFixed(4)}  dense ${mean(rows.map((r) => r.dense)).toFixed(4)}  RRF 1:1 ${fixed[10].toFixed(4)}  best constant weight ${GRID[best]} ${fixed[best].toFixed(4)}`,
  );
  log(`5-fold CV nDCG@10${RISK ? ` (fitted for URisk, alpha ${RISK})` : ''}: constant trust ${cv([])}, sign-constrained trust model ${cv(names)}`);
  const model = fitTrust(rows, names);
  log(`fitted on all train queries: mean trust ${mean(rows.map((r) => trustOf(model, r.f))).toFixed(3)}, nDCG@10 ${mean(rows.map((r) => interpolate(r.grid, trustOf(model, r.f)))).toFixed(4)}`);
  console.log(
    JSON.stringify({ method: 'adaptive', k: 60, intercept: round(model.intercept), coefficients: Object.fromEntries(Object.entries(model.coefficients).map(([k, v]) => [k, round(v)])) }, null, 2),
  );
}

const round = (x) => Number(x.toPrecision(4));

function interpolate(grid, t) {
  const x = t * (grid.length - 1);
  const i = Math.min(grid.length - 2, Math.floor(x));
  return grid[i] * (1 - (x - i)) + grid[i + 1] * (x - i);
}

/** nDCG@10 at trust t, minus RISK times the loss against BM25 alone. */
function utility(row, t) {
  const g = interpolate(row.grid, t);
  return g - RISK * Math.max(0, row.bm25 - g);
}

function trustOf(model, f) {
  let z = model.intercept;
  for (const [k, c] of Object.entries(model.coefficients)) z += c * f[k];
  return sigmoid(z);
}

/**
 * Maximises mean interpolated nDCG@10 over the trust σ(w0 + Σ w_j x_j) on standardised features,
 * coefficients held to SIGNS (a projected pattern search; deterministic), then maps it back to
 * raw feature units. Features that end at 0 are dropped.
 */
function fitTrust(rows, names) {
  const mu = names.map((n) => mean(rows.map((r) => r.f[n])));
  const sd = names.map((n, j) => Math.sqrt(mean(rows.map((r) => (r.f[n] - mu[j]) ** 2))) || 1);
  const X = rows.map((r) => names.map((n, j) => (r.f[n] - mu[j]) / sd[j]));
  const objective = (w) => {
    let s = 0;
    for (let i = 0; i < rows.length; i++) {
      let z = w[0];
      for (let j = 0; j < names.length; j++) z += w[j + 1] * X[i][j];
      s += utility(rows[i], sigmoid(z));
    }
    let penalty = 0;
    for (let j = 1; j < w.length; j++) penalty += w[j] * w[j];
    return s / rows.length - L2 * penalty;
  };
  const allowed = (j, v) => j === 0 || SIGNS[names[j - 1]] * v >= 0;
  // Start from the best constant trust.
  let w = [0, ...names.map(() => 0)];
  let value = -Infinity;
  for (let z = -4; z <= 4; z += 0.25) {
    const v = objective([z, ...names.map(() => 0)]);
    if (v > value) [value, w] = [v, [z, ...names.map(() => 0)]];
  }
  for (let step = 1; step > 0.002; step /= 2) {
    for (let improved = true; improved; ) {
      improved = false;
      for (let j = 0; j < w.length; j++) {
        for (const d of [step, -step]) {
          const next = w.slice();
          next[j] += d;
          if (!allowed(j, next[j])) next[j] = 0;
          if (next[j] === w[j]) continue;
          const v = objective(next);
          if (v > value + 1e-9) [value, w, improved] = [v, next, true];
        }
      }
    }
  }
  const coefficients = {};
  let intercept = w[0];
  names.forEach((n, j) => {
    if (w[j + 1] === 0) return;
    coefficients[n] = w[j + 1] / sd[j];
    intercept -= (w[j + 1] * mu[j]) / sd[j];
  });
  return { intercept, coefficients };
}

function report() {
  const oods = argv.flatMap((a, i) => (argv[i - 1] === '--ood' ? [resolve(a)] : []));
  const targets = [[scifact, 'test'], [scifact, 'test-unseen'], ...oods.map((d) => [d, 'test'])];
  const pipelines = ['bm25', 'dense', 'hybrid', 'hybrid-adaptive'];
  const lines = [`| collection / split | ${pipelines.join(' | ')} |`, `|---|${pipelines.map(() => '---|').join('')}`];
  for (const [dir, split] of targets) {
    const cells = pipelines.map((p) => JSON.parse(run(['eval', '--dataset', dir, '--split', split, '--pipeline', p, '--k', '100', '--json'])).metrics['ndcg@10'].toFixed(4));
    lines.push(`| ${dir === scifact ? 'scifact' : dir.split('/').pop()} / ${split} | ${cells.join(' | ')} |`);
    log(lines.at(-1));
  }
  console.log(lines.join('\n'));
}

if (argv[0] === 'fit') await fitCommand();
else if (argv[0] === 'report') report();
else {
  console.error('usage: node tools/adaptive-fusion.mjs fit [--work DIR] | report [--ood DIR ...]');
  process.exit(2);
}
