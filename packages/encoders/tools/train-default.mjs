#!/usr/bin/env node
// Reproduces the models shipped in models/ (run from packages/encoders after `npx tsup`):
//
//   node tools/train-default.mjs            # ~7 minutes on 2 cores; writes models/scifact-*
//   node tools/train-default.mjs --models DIR   # write the three model folders elsewhere
//
// 1. tools/build-training-data.mjs --sentences 5   -> .cache/train-data-s5/ (corpus pairs, train queries)
// 2. stage 1, self-supervised (no query at all): title -> abstract, sentence -> rest of document
//      -> models/scifact-static-selfsup       (the "no SciFact query" model)
// 3. stage 2, SciFact *train* queries -> their positives, BM25 hard negatives, from stage 1
//      -> models/scifact-static               (the default model of the `dense` plugin)
// 4. stage 3, the contextual block on top of stage 2, on both data sets
//      -> models/scifact-contextual
// Test queries are never read. Same seed -> same weights -> same nDCG@10.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveModel, trainEncoder } from '@quarry/encoders';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = join(pkg, '.cache', 'train-data-s5');
const argv = process.argv.slice(2);
const modelsArg = argv.indexOf('--models');
const models = modelsArg >= 0 ? argv[modelsArg + 1] : join(pkg, 'models');
const work = join(models === join(pkg, 'models') ? join(pkg, '.cache') : models, 'default-model-work');
const tokenizerDir = join(pkg, 'tokenizers', 'bert-base-uncased');
const SEED = 42;
const command = 'node tools/train-default.mjs';

const t0 = Date.now();
const log = (label) => (p) => {
  if (p.phase !== 'train' || p.step % 50 === 0 || p.step === p.totalSteps) {
    const loss = p.loss === undefined ? '' : ` loss ${p.loss.toFixed(3)}`;
    console.error(`[${label}] ${p.phase} ${p.step}/${p.totalSteps}${loss} ${(p.elapsedMs / 1000).toFixed(0)}s ${p.message ?? ''}`);
  }
};

if (!existsSync(join(data, 'corpus-pairs.jsonl.gz'))) {
  execFileSync(process.execPath, [join(pkg, 'tools', 'build-training-data.mjs'), '--sentences', '5', '--out', data], { stdio: 'inherit' });
}
rmSync(work, { recursive: true, force: true });
const corpusPairs = join(data, 'corpus-pairs.jsonl.gz');
const trainQueries = join(data, 'train-queries.jsonl.gz');
const common = { tokenizer: tokenizerDir, seed: SEED, dim: 256, mrlDims: [32, 64, 128, 256], inferenceMaxLength: 512 };

// Stage 1: self-supervised pairs only.
const stage1 = await trainEncoder({
  ...common,
  data: corpusPairs,
  out: join(work, 'stage1'),
  precision: 'fp32',
  init: 'ppmi',
  tfExponent: 0.5,
  epochs: 2,
  batchSize: 128,
  negatives: 1,
  lr: 0.01,
  onProgress: log('stage 1'),
});
await saveModel(join(models, 'scifact-static-selfsup'), stage1.model, {
  tokenizerDir,
  precision: 'int8',
  maxLength: 512,
  matryoshkaDims: common.mrlDims,
  name: 'scifact-static-selfsup',
  description: 'Quarry static encoder trained on SciFact corpus pairs only (no query of any split).',
  training: { command, stage: 1, data: ['corpus-pairs (title->abstract, sentence->rest; 5 sentences/doc)'], steps: stage1.steps, seed: SEED },
});
console.error(`stage 1 done at ${((Date.now() - t0) / 1000).toFixed(0)} s`);

// Stage 2: SciFact train queries.
const stage2 = await trainEncoder({
  ...common,
  data: trainQueries,
  init: join(work, 'stage1'),
  out: join(work, 'stage2'),
  precision: 'fp32',
  epochs: 4,
  batchSize: 32,
  negatives: 3,
  lr: 0.003,
  onProgress: log('stage 2'),
});
await saveModel(join(models, 'scifact-static'), stage2.model, {
  tokenizerDir,
  precision: 'int8',
  maxLength: 512,
  matryoshkaDims: common.mrlDims,
  name: 'scifact-static',
  description: 'Quarry static encoder: self-supervised SciFact corpus pairs, then SciFact train queries (BM25 hard negatives).',
  training: { command, stage: 2, data: ['corpus-pairs', 'train-queries (809 train queries, 919 pairs, 3 BM25 negatives, TopK-PercPos 95%)'], steps: stage1.steps + stage2.steps, seed: SEED },
});
console.error(`stage 2 done at ${((Date.now() - t0) / 1000).toFixed(0)} s`);

// Stage 3: contextual block on top of stage 2.
const stage3 = await trainEncoder({
  ...common,
  data: [corpusPairs, trainQueries],
  init: join(work, 'stage2'),
  model: 'contextual',
  hidden: 16,
  kernel: 3,
  totalSteps: 250,
  batchSize: 64,
  negatives: 1,
  maxLength: 128,
  lr: 0.002,
  onProgress: log('stage 3'),
});
await saveModel(join(models, 'scifact-contextual'), stage3.model, {
  tokenizerDir,
  precision: 'int8',
  maxLength: 512,
  matryoshkaDims: common.mrlDims,
  name: 'scifact-contextual',
  description: 'Quarry contextual encoder: scifact-static plus a residual 1D-convolution block (hidden 16, kernel 3).',
  training: { command, stage: 3, data: ['corpus-pairs', 'train-queries'], steps: stage3.steps, seed: SEED },
});
console.error(`all done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
