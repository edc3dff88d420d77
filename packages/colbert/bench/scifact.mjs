// Reranking quality on SciFact: BM25's top 100 reranked by pure MaxSim (the shipped model
// at each Matryoshka dim, and the untrained starting point), and, reported separately,
// MaxSim mixed 0.5/0.5 with BM25's score (each min-max normalised per query).
//   npm run bench:scifact -w @quarry/colbert
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDocStore, evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { bundledModelDir } from '@quarry/encoders';
import { ColbertReranker, bundledColbertModelDir, loadTokenEncoder } from '@quarry/colbert';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const dataset = openBeirDataset(join(here, '../../../datasets/scifact'));
const docs = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile));
const bm25 = await Bm25Index.build(docs);
const splits = {};
for (const s of ['test', 'test-unseen']) {
  const { queries, qrels } = await loadSplit(dataset, s);
  splits[s] = { queries, qrels, first: await bm25.searchBatch(queries, { k: 100 }) };
}
const ndcg = (queries, qrels, hits) => evaluate(new Map(queries.map((q, i) => [q.id, hits[i]])), qrels, ['ndcg@10']).metrics['ndcg@10'];

function minmax(hits) {
  const s = hits.map((h) => h.score);
  const lo = Math.min(...s);
  const hi = Math.max(...s);
  return new Map(hits.map((h) => [h.id, hi > lo ? (h.score - lo) / (hi - lo) : 0]));
}

const rows = [
  [
    'bm25',
    '—',
    ndcg(splits.test.queries, splits.test.qrels, splits.test.first).toFixed(4),
    ndcg(splits['test-unseen'].queries, splits['test-unseen'].qrels, splits['test-unseen'].first).toFixed(4),
    '—',
    '—',
  ],
];
const models = [
  ['scifact-colbert (shipped)', bundledColbertModelDir()],
  ['scifact-contextual (untrained for MaxSim)', bundledModelDir('scifact-contextual')],
];
for (const [name, dir] of models) {
  const { encoder } = await loadTokenEncoder(dir);
  for (const dim of [32, 64, 128, 256]) {
    const reranker = new ColbertReranker(encoder, { dim });
    const row = [name, dim];
    const mixed = [];
    for (const s of ['test', 'test-unseen']) {
      const { queries, qrels, first } = splits[s];
      const pure = [];
      const mix = [];
      for (let i = 0; i < queries.length; i++) {
        const reranked = await reranker.rerank(queries[i], first[i], { docs });
        pure.push(reranked);
        const a = minmax(first[i]);
        const b = minmax(reranked);
        mix.push(first[i].map((h) => ({ id: h.id, score: 0.5 * a.get(h.id) + 0.5 * b.get(h.id) })).sort((x, y) => y.score - x.score));
      }
      row.push(ndcg(queries, qrels, pure).toFixed(4));
      mixed.push(ndcg(queries, qrels, mix).toFixed(4));
    }
    rows.push([...row, ...mixed]);
    console.error(rows.at(-1));
  }
}
const markdown = `BM25 (Lucene, k1 0.9, b 0.4) top 100 on SciFact, reranked. "Pure MaxSim" orders the 100 by MaxSim alone; "mixed" is 0.5 x BM25 + 0.5 x MaxSim, each min-max normalised per query (reported separately: mixing with BM25 helps even an untrained model, so it is not a measure of the token model).

${table(['token model', 'dim', 'pure MaxSim test', 'pure MaxSim test-unseen', 'mixed test', 'mixed test-unseen'], rows)}`;
writeBenchSection('colbert-rerank', { title: 'ColBERT reranking quality on SciFact', command: 'npm run bench:scifact -w @quarry/colbert', markdown });
console.log(markdown);
