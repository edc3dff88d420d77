// Exploration: leave-one-out scoring of the candidates whose sentences were copied into the query.
import { MemoryDocStore, docText, evaluate, loadSplit, openBeirDataset, readCorpus, reciprocalRankFusion } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { ExtractiveAnswers, augmentQuery, truncateTokens } from '../dist/index.js';

const ds = openBeirDataset(new URL('../../../datasets/scifact', import.meta.url).pathname);
const docs = await MemoryDocStore.fromAsync(readCorpus(ds.corpusFile));
const bm25 = await Bm25Index.build(docs);
const splits = (process.env.SPLITS ?? 'train,test,test-unseen').split(',');
const enc = await loadEncoder(bundledModelDir('scifact-static-selfsup'));
const src = await ExtractiveAnswers.fromDocs(docs, { selector: process.env.SEL ?? 'dense', encoder: enc });
const M = Number(process.env.M ?? 10),
  N = Number(process.env.N ?? 5);

async function runQuery(q, loo, fuse) {
  const first = await bm25.search(q, { k: 1000 });
  const candidates = first.slice(0, M).map((h, rank) => ({ id: h.id, rank, score: h.score, doc: docs.get(h.id), text: truncateTokens(docText(docs.get(h.id)), 128) }));
  const input = { query: q, prompt: '', candidates, n: N };
  const sel = await src.select(input);
  const aug = augmentQuery(
    q.text,
    sel.map((s) => s.text),
  );
  let second = await bm25.search(aug, { k: 1000 });
  if (loo) {
    const sources = [...new Set(sel.map((s) => s.id))];
    const fixed = new Map();
    for (const id of sources) {
      const alt = await src.select(input, id);
      fixed.set(
        id,
        (
          await bm25.scoreDocs(
            augmentQuery(
              q.text,
              alt.map((s) => s.text),
            ),
            [id],
          )
        )[0],
      );
    }
    second = second.map((h) => (fixed.has(h.id) ? { id: h.id, score: fixed.get(h.id) } : h));
    second.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }
  return fuse ? reciprocalRankFusion([first, second], { k: 60, limit: 1000 }) : second;
}

for (const [name, loo, fuse] of [
  ['loo', true, false],
  ['loo+rrf', true, true],
]) {
  const row = [`${name} M=${M} n=${N} ${process.env.SEL ?? 'dense'}`.padEnd(30)];
  for (const s of splits) {
    const { queries, qrels } = await loadSplit(ds, s);
    const run = new Map();
    for (const q of queries) run.set(q.id, await runQuery(q, loo, fuse));
    const m = evaluate(run, qrels, ['ndcg@10', 'recall@100']).metrics;
    row.push(`${s} ${m['ndcg@10'].toFixed(4)} ${m['recall@100'].toFixed(4)}`);
  }
  console.log(row.join('  '));
}
