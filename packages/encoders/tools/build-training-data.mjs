#!/usr/bin/env node
// Builds the training pairs for Quarry's default encoder from SciFact (BEIR layout), in the
// sentence-transformers layout {"query","positive","negative_1",...} (gzipped JSONL):
//
//   corpus-pairs.jsonl.gz  self-supervised, from the corpus alone (no query is used):
//                          title -> abstract, and sentence -> rest of its document
//   train-queries.jsonl.gz SciFact's *train* queries -> each labelled positive
//
// Test queries are never read. Hard negatives come from BM25 (@quarry/bm25, k1=0.9 b=0.4),
// filtered positive-aware as in NV-Retriever (TopK-PercPos): a candidate is kept only if its
// score is below 95% of the positive's score (the lowest positive's, for several positives).
//
// Usage: node tools/build-training-data.mjs [--dataset DIR] [--out DIR] [--negatives 3] [--sentences 2] [--seed 13]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Bm25Index } from '@quarry/bm25';
import { SeededRandom, openBeirDataset, readCorpus, readQrels, readQueries } from '@quarry/core';

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1]]] : [])));
const datasetDir = args.dataset ?? join(here, '..', '..', '..', 'datasets', 'scifact');
const outDir = args.out ?? join(here, '..', '.cache', 'train-data');
const NEG = Number(args.negatives ?? 3);
const SENTENCES = Number(args.sentences ?? 2);
const SEED = Number(args.seed ?? 13);
const DEPTH = 30;
const PERC = 0.95;

const dataset = openBeirDataset(datasetDir);
const docs = [];
for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
const byId = new Map(docs.map((d) => [d.id, d]));
const full = (d) => (d.title ? `${d.title} ${d.text}` : d.text);
console.error(`corpus: ${docs.length} docs`);
const bm25 = await Bm25Index.build(docs, { k1: 0.9, b: 0.4 });

/** BM25 hits for `query`, positives removed, kept if score < PERC * (lowest positive score). */
async function negativesFor(queries, positives) {
  const hits = await bm25.searchBatch(queries, { k: DEPTH });
  return hits.map((list, i) => {
    const pos = positives[i];
    const posScores = list.filter((h) => pos.has(h.id)).map((h) => h.score);
    const cap = posScores.length === pos.size ? Math.min(...posScores) * PERC : Infinity;
    return list
      .filter((h) => !pos.has(h.id) && h.score < cap)
      .slice(0, NEG)
      .map((h) => h.id);
  });
}

function line(query, positive, negIds) {
  const o = { query, positive };
  negIds.forEach((id, k) => (o[`negative_${k + 1}`] = full(byId.get(id))));
  return JSON.stringify(o);
}

mkdirSync(outDir, { recursive: true });

// 1. Self-supervised pairs from the corpus.
const random = new SeededRandom(SEED);
const selfQueries = [];
const selfPositives = [];
const selfDoc = [];
for (const d of docs) {
  if (d.title && d.text) {
    selfQueries.push(d.title);
    selfPositives.push(d.text);
    selfDoc.push(d.id);
  }
  const sentences = d.text.split(/(?<=[.!?])\s+(?=[A-Z0-9([])/).filter((s) => s.length >= 40);
  if (sentences.length < 2) continue;
  const picked = new Set();
  for (let k = 0; k < Math.min(SENTENCES, sentences.length - 1); k++) {
    let i;
    do i = random.int(sentences.length);
    while (picked.has(i));
    picked.add(i);
    const rest = sentences.filter((_, j) => j !== i).join(' ');
    selfQueries.push(sentences[i]);
    selfPositives.push(d.title ? `${d.title} ${rest}` : rest);
    selfDoc.push(d.id);
  }
}
const selfNegs = await negativesFor(
  selfQueries,
  selfDoc.map((id) => new Set([id])),
);
const corpusLines = selfQueries.map((q, i) => line(q, selfPositives[i], selfNegs[i]));
writeFileSync(join(outDir, 'corpus-pairs.jsonl.gz'), gzipSync(`${corpusLines.join('\n')}\n`));
console.error(`corpus-pairs: ${corpusLines.length} examples`);

// 2. SciFact train queries (never test).
const qrels = await readQrels(dataset.qrelsFiles['train']);
const queries = [];
for await (const q of readQueries(dataset.queriesFile)) if (qrels.has(q.id)) queries.push(q);
const trainNegs = await negativesFor(
  queries.map((q) => q.text),
  queries.map((q) => new Set([...qrels.get(q.id).entries()].filter(([, r]) => r > 0).map(([id]) => id))),
);
const trainLines = [];
queries.forEach((q, i) => {
  for (const [id, rel] of qrels.get(q.id)) if (rel > 0 && byId.has(id)) trainLines.push(line(q.text, full(byId.get(id)), trainNegs[i]));
});
writeFileSync(join(outDir, 'train-queries.jsonl.gz'), gzipSync(`${trainLines.join('\n')}\n`));
console.error(`train-queries: ${trainLines.length} examples from ${queries.length} train queries`);
