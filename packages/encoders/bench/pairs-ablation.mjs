#!/usr/bin/env node
// Ablation of the training-pair sources (issue #17 item 4) with the existing static trainer,
// using the shipped scifact-static recipe (tools/train-default.mjs): stage 1 on self-supervised
// pairs (ppmi init, tf^0.5, 2 epochs, batch 128, 1 negative, lr 0.01), stage 2 on SciFact train
// pairs (4 epochs, batch 32, 3 negatives, lr 0.003), seed 42, saved int8 like the shipped model.
//
//   (a) SciFact train only: stage 2 alone, from a ppmi init (tf^0.5)
//   (b) + ICT/crops: stage 1 on ict:crop 1:1, then stage 2
//   (c) + WordNet: stage 1 on ict:crop:wordnet 1:1:1, then stage 2
//   (d) corpus + WordNet only, no SciFact query: stage 1 of (c); (d0) corpus only: stage 1 of (b)
//   (e) ICT only, (f) crops only, (g) title -> abstract + ICT 1:2: stage 1 alone, no query
//
// nDCG@10 of each model alone (exact cosine search) on SciFact test-unseen and test, and on the
// out-of-domain collections NPL and LISA (measured only, never trained on; not in the repo):
//
//   node bench/pairs-ablation.mjs --ood /work/shared/data/beir-ood [--pairs DIR] [--work DIR]
//
// Pairs come from tools/build-pairs.mjs (built first when missing). Run after `npx nx run @quarry/encoders:build`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContaminationGuard, loadEncoder, manifestPath, mixPairs, saveModel, trainEncoder } from '@quarry/encoders';
import { docText } from '@quarry/core';
import { PKG, SCIFACT, bm25Searcher, denseSearcher, fmt, loadScifact, ndcg10 } from './scifact.mjs';

const argv = process.argv.slice(2);
const arg = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const oodDir = arg('ood');
const pairsDir = arg('pairs', join(PKG, '.cache', 'pairs'));
const work = arg('work', join(PKG, '.cache', 'pairs-ablation'));
const SEED = 42;
const tokenizerDir = join(PKG, 'tokenizers', 'bert-base-uncased');
mkdirSync(work, { recursive: true });
const log = (m) => console.error(`[ablation ${process.uptime().toFixed(0)}s] ${m}`);

if (!existsSync(join(pairsDir, 'scifact-train.jsonl.gz'))) execFileSync(process.execPath, [join(PKG, 'tools', 'build-pairs.mjs'), '--out', pairsDir], { stdio: 'inherit' });
const guard = await ContaminationGuard.fromBeir(SCIFACT);
const p = (name) => join(pairsDir, `${name}.jsonl.gz`);
const mixes = {
  corpus: [
    { file: p('ict'), share: 1, name: 'ict' },
    { file: p('crop'), share: 1, name: 'crop' },
  ],
  'title-ict': [
    { file: p('title'), share: 1, name: 'title' },
    { file: p('ict'), share: 2, name: 'ict' },
  ],
  'corpus-wordnet': [
    { file: p('ict'), share: 1, name: 'ict' },
    { file: p('crop'), share: 1, name: 'crop' },
    { file: p('wordnet'), share: 1, name: 'wordnet' },
  ],
};
const mixed = {};
for (const [name, sources] of Object.entries(mixes)) {
  const out = join(work, `${name}.jsonl.gz`);
  mixed[name] = out;
  if (existsSync(manifestPath(out)) && existsSync(out)) {
    await guard.checkFile(out);
    log(`mix ${name}: exists (checked by the guard)`);
    continue;
  }
  const { counts } = await mixPairs({ sources, out, guard, seed: 13 });
  log(`mix ${name}: ${sources.map((s, i) => `${s.name} ${counts[i]}`).join(', ')}`);
}
const train = p('scifact-train');
await guard.checkFile(train);

const common = { tokenizer: tokenizerDir, seed: SEED, dim: 256, mrlDims: [32, 64, 128, 256], inferenceMaxLength: 512, precision: 'fp32' };
const stage1 = { init: 'ppmi', tfExponent: 0.5, epochs: 2, batchSize: 128, negatives: 1, lr: 0.01 };
const stage2 = { epochs: 4, batchSize: 32, negatives: 3, lr: 0.003 };
const cpu = {};
async function trainTo(name, data, settings) {
  const dir = join(work, 'models', name);
  if (existsSync(join(dir, 'quarry-encoder.json'))) {
    log(`${name}: exists, reused`);
    return dir;
  }
  const c0 = process.cpuUsage();
  const result = await trainEncoder({
    ...common,
    ...settings,
    data,
    out: join(work, 'fp32', name),
    overwrite: true,
    onProgress: (pr) => pr.phase === 'train' && pr.step % 100 === 0 && log(`${name} step ${pr.step}/${pr.totalSteps} loss ${pr.loss?.toFixed(3)}`),
  });
  await saveModel(dir, result.model, {
    tokenizerDir,
    precision: 'int8',
    maxLength: 512,
    matryoshkaDims: common.mrlDims,
    name,
    description: `pairs ablation: ${name}`,
    training: { command: 'node bench/pairs-ablation.mjs', steps: result.steps, seed: SEED },
  });
  const u = process.cpuUsage(c0);
  cpu[name] = (u.user + u.system) / 1e6;
  log(`${name}: ${result.steps} steps, ${cpu[name].toFixed(0)} CPU s`);
  return dir;
}
const models = [];
models.push(['(a) SciFact train only', await trainTo('a-train', train, { ...stage2, init: 'ppmi', tfExponent: 0.5 })]);
const d0 = await trainTo('d0-corpus', mixed.corpus, stage1);
models.push(['(b) ICT/crops, then SciFact train', await trainTo('b-corpus-train', train, { ...stage2, init: join(work, 'fp32', 'd0-corpus') })]);
const d = await trainTo('d-corpus-wordnet', mixed['corpus-wordnet'], stage1);
models.push(['(c) ICT/crops + WordNet, then SciFact train', await trainTo('c-corpus-wordnet-train', train, { ...stage2, init: join(work, 'fp32', 'd-corpus-wordnet') })]);
models.push(['(d0) ICT/crops only, no SciFact query', d0]);
// Which self-supervised source carries the signal (stage 1 only, no query).
models.push(['(e) ICT only, no SciFact query', await trainTo('e-ict', p('ict'), stage1)]);
models.push(['(f) crops only, no SciFact query', await trainTo('f-crop', p('crop'), stage1)]);
models.push(['(g) title->abstract + ICT 1:2, no SciFact query', await trainTo('g-title-ict', mixed['title-ict'], stage1)]);
models.push(['(d) ICT/crops + WordNet only, no SciFact query', d]);
for (const [label, name] of [
  ['shipped scifact-static (reference)', 'scifact-static'],
  ['shipped scifact-static-selfsup (reference)', 'scifact-static-selfsup'],
]) {
  models.push([label, join(PKG, 'models', name)]);
}

// Evaluation collections: SciFact test-unseen and test; NPL and LISA when --ood is given.
const collections = [];
const sci = await loadScifact();
collections.push({ name: 'SciFact test-unseen', docs: sci.docs, split: sci.splits['test-unseen'] });
collections.push({ name: 'SciFact test', docs: sci.docs, split: sci.splits.test });
if (oodDir) {
  for (const c of ['npl', 'lisa']) {
    const { docs, splits } = await loadScifact(join(oodDir, c), ['test']);
    collections.push({ name: c.toUpperCase(), docs, split: splits.test });
  }
}
/**
 * bench/scifact.mjs's exact cosine search, less the documents the model encodes to a zero vector
 * (no token in its vocabulary: some NPL/LISA documents for models trained on SciFact alone); the
 * `dense` plugin indexes those too and never returns them, so this ranks the same.
 */
async function denseSearcherSkippingEmpty(encoder, docs) {
  const texts = docs.map(docText);
  const keep = [];
  for (let i = 0; i < texts.length; i += 512) {
    const m = await encoder.encode(texts.slice(i, i + 512), { role: 'document' });
    for (let r = 0; r < m.rows; r++) {
      let nz = false;
      for (let j = 0; j < m.cols && !nz; j++) nz = m.data[r * m.cols + j] !== 0;
      if (nz) keep.push(docs[i + r]);
    }
  }
  if (keep.length < docs.length) log(`${docs.length - keep.length} of ${docs.length} documents encode to zero (no known token): never returned`);
  return denseSearcher(encoder, keep);
}

const rows = [];
const bm25Row = ['BM25 (k1 0.9, b 0.4, English analyzer)'];
for (const c of collections) {
  const run = await (await bm25Searcher(c.docs)).run(c.split.queries);
  bm25Row.push(fmt(ndcg10(run, c.split.qrels)));
}
rows.push(bm25Row);
const results = {};
for (const [label, dir] of models) {
  const encoder = await loadEncoder(dir);
  const row = [label];
  for (const c of collections) {
    const dense = await denseSearcherSkippingEmpty(encoder, c.docs);
    const score = ndcg10(await dense.run(c.split.queries), c.split.qrels);
    row.push(fmt(score));
    (results[label] ??= {})[c.name] = score;
  }
  rows.push(row);
  log(`evaluated ${label}`);
}
const header = ['training data (static, 256 dims, int8)', ...collections.map((c) => `${c.name} nDCG@10`)];
const table = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
console.log(table);
writeFileSync(join(work, 'results.json'), `${JSON.stringify({ results, trainingCpuSeconds: cpu }, null, 2)}\n`);
