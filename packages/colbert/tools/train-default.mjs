#!/usr/bin/env node
// Trains the bundled late-interaction model `models/scifact-colbert` (seeded, reproducible):
//   npm run train:default -w @quarry/colbert
// Start: the encoders package's scifact-contextual model (static embeddings + a residual
// convolution block). Objective: InfoNCE over MaxSim scores, Matryoshka over 32/64/128/256.
// Data (SciFact, no test labels): the 809 train claims with their cited abstracts, plus one
// self-supervised pair per corpus document (its title as the query, its abstract as the
// positive); one hard negative each: a seeded pick from BM25's top 10 that is not a positive.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDocStore, openBeirDataset, readCorpus, loadSplit, SeededRandom } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { bundledModelDir } from '@quarry/encoders';
import { trainTokenModel } from '@quarry/colbert';

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const out = args.out ?? join(here, '..', 'models', 'scifact-colbert');
const steps = Number(args.steps ?? 200);
const seed = Number(args.seed ?? 42);
const dataset = openBeirDataset(join(here, '..', '..', '..', 'datasets', 'scifact'));
const docs = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile));
const text = (d) => (d.title ? `${d.title} ${d.text}` : d.text);
const bm25 = await Bm25Index.build(docs);
const rng = new SeededRandom(seed);
const examples = [];
async function negativeFor(query, positives) {
  const hits = (await bm25.search(query, { k: 12 })).filter((h) => !positives.has(h.id)).slice(0, 10);
  return hits.length ? text(docs.get(hits[rng.int(hits.length)].id)) : undefined;
}
const { queries, qrels } = await loadSplit(dataset, 'train');
for (const q of queries) {
  const positives = new Set([...(qrels.get(q.id) ?? new Map())].filter(([, g]) => g > 0).map(([id]) => id));
  const negative = await negativeFor(q.text, positives);
  for (const id of positives) examples.push({ query: q.text, positive: text(docs.get(id)), negatives: negative ? [negative] : [] });
}
const claims = examples.length;
for (const d of docs) {
  if (!d.title || !d.text) continue;
  const negative = await negativeFor(d.title, new Set([d.id]));
  examples.push({ query: d.title, positive: d.text, negatives: negative ? [negative] : [] });
}
console.error(`${claims} claim pairs + ${examples.length - claims} title pairs; ${steps} steps`);
const t0 = Date.now();
const { losses } = await trainTokenModel({
  init: bundledModelDir('scifact-contextual'),
  examples,
  out,
  steps,
  batchSize: 32,
  negatives: 1,
  temperature: Number(args.temperature ?? 0.25),
  maxQueryLength: 32,
  maxDocLength: 128,
  lr: Number(args.lr ?? 3e-4),
  lrDense: Number(args.lrDense ?? 1e-3),
  dims: [32, 64, 128, 256],
  seed,
  threads: 2,
  name: 'scifact-colbert',
  description: 'Quarry late-interaction token model: scifact-contextual fine-tuned with MaxSim InfoNCE + Matryoshka (32/64/128/256).',
  provenance: { command: 'npm run train:default -w @quarry/colbert', data: ['scifact-train-claims', 'scifact-title-pairs'], negatives: 'bm25-top10-seeded' },
  onProgress: ({ step, totalSteps, loss }) => {
    if (step % 20 === 0 || step === totalSteps) console.error(`step ${step}/${totalSteps} loss ${loss.toFixed(4)} ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  },
});
console.log(JSON.stringify({ out, steps, seconds: (Date.now() - t0) / 1000, finalLoss: losses.at(-1) }));
