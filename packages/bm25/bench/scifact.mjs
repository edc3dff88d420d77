// Prints the SciFact figures quoted in the README (the regression test pins the same values).
// Usage: npm run scifact   (runs against dist: build first with `npx tsup`)
import { evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { DATASET_DIR } from './corpus.mjs';

const dataset = openBeirDataset(DATASET_DIR);
const docs = [];
for await (const doc of readCorpus(dataset.corpusFile)) docs.push(doc);
const metrics = ['ndcg@10', 'recall@100', 'recall@1000'];

// Anserini sorts ties by doc id ascending, then rewrites scores so trec_eval keeps that
// order (ScoreTiesAdjusterReranker); core's evaluate, like trec_eval, breaks ties by doc id
// descending. Ranks as scores reproduce Anserini's order.
const anseriniOrder = (hits) => [...hits].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((h, i, all) => ({ id: h.id, score: all.length - i }));

console.log(`| norms | split | queries | ${metrics.join(' | ')} | ndcg@10, Anserini tie order |`);
console.log(`| --- | --- | --- | ${metrics.map(() => '---').join(' | ')} | --- |`);
for (const lossyNorms of [true, false]) {
  const index = await Bm25Index.build(docs, { lossyNorms });
  for (const split of ['test', 'test-unseen']) {
    const { queries, qrels } = await loadSplit(dataset, split);
    const hits = await index.searchBatch(queries, { k: 1000 });
    const result = evaluate(new Map(queries.map((q, i) => [q.id, hits[i]])), qrels, metrics);
    const anserini = evaluate(new Map(queries.map((q, i) => [q.id, anseriniOrder(hits[i])])), qrels, ['ndcg@10']);
    console.log(
      `| ${lossyNorms ? 'lossy (Lucene)' : 'exact'} | ${split} | ${result.queries} | ${metrics.map((m) => result.metrics[m].toFixed(4)).join(' | ')} | ${anserini.metrics['ndcg@10'].toFixed(4)} |`,
    );
  }
}
