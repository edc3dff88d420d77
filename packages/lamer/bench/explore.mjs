// Exploration grid for the extractive generator (not the pinned figures; see scifact.mjs).
import { MemoryDocStore, evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { ExtractiveAnswers, LameR, LameRRetriever } from '../dist/index.js';

const root = new URL('../../../datasets/scifact', import.meta.url).pathname;
const ds = openBeirDataset(root);
const docs = await MemoryDocStore.fromAsync(readCorpus(ds.corpusFile));
const bm25 = await Bm25Index.build(docs);
const splits = {};
for (const s of (process.env.SPLITS ?? 'test,test-unseen').split(',')) splits[s] = await loadSplit(ds, s);
const enc = { static: await loadEncoder(bundledModelDir('scifact-static')), selfsup: await loadEncoder(bundledModelDir('scifact-static-selfsup')) };

async function run(name, retriever) {
  const row = [name.padEnd(60)];
  for (const [s, { queries, qrels }] of Object.entries(splits)) {
    const res = await retriever.searchBatch(queries, { k: 1000 });
    const r = new Map(queries.map((q, i) => [q.id, res[i]]));
    const m = evaluate(r, qrels, ['ndcg@10', 'recall@100']).metrics;
    row.push(`${s} ${m['ndcg@10'].toFixed(4)} ${m['recall@100'].toFixed(4)}`);
  }
  console.log(row.join('  '));
}

await run('bm25', bm25);
const grid = JSON.parse(process.argv[2] ?? '[]');
for (const v of grid) {
  const src = await ExtractiveAnswers.fromDocs(docs, { ...v.ex, encoder: v.enc ? enc[v.enc] : undefined });
  const lamer = new LameR(src, v.lamer ?? {});
  await run(JSON.stringify(v), new LameRRetriever(lamer, bm25, docs, v.fuse ? { fuse: v.fuse } : {}));
}
