// SciFact figures of the README: BM25 against LameR with the extractive source (no LLM).
// Usage: node bench/scifact.mjs [--splits test,test-unseen,train] [--write]   (after `npx nx run @quarry/lamer:build`)
// --write puts the tables into the root BENCHMARKS.md (section "lamer-scifact").
import { parseArgs } from 'node:util';
import { writeBenchSection } from '../../../tools/bench-report.mjs';
import { MemoryDocStore, SeededRandom, evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { DEFAULT_SELECTOR_MODEL, ExtractiveAnswers, LameR, LameRDenseRetriever, LameRRetriever } from '../dist/index.js';

const { values } = parseArgs({ options: { splits: { type: 'string', default: 'test,test-unseen' }, write: { type: 'boolean', default: false } } });
const ds = openBeirDataset(new URL('../../../datasets/scifact', import.meta.url).pathname);
const docs = await MemoryDocStore.fromAsync(readCorpus(ds.corpusFile));
const bm25 = await Bm25Index.build(docs);
const selector = await loadEncoder(bundledModelDir(DEFAULT_SELECTOR_MODEL));
const lexical = await ExtractiveAnswers.fromDocs(docs, { selector: 'lexical' });
const dense = await ExtractiveAnswers.fromDocs(docs, { selector: 'dense', encoder: selector });

const variants = [
  ['bm25', bm25],
  ['lamer extractive, lexical sentences (naive)', new LameRRetriever(new LameR(lexical), bm25, docs)],
  ['lamer extractive, own-encoder sentences', new LameRRetriever(new LameR(dense), bm25, docs)],
  ['lamer extractive, own-encoder sentences + RRF with round 1 (default)', new LameRRetriever(new LameR(dense), bm25, docs, { fuse: { k: 60 } })],
  ['lamer-dense extractive (scifact-static)', await LameRDenseRetriever.build(new LameR(dense), await loadEncoder(bundledModelDir()), bm25, docs)],
];

/** Two-sided paired randomization (sign-flip) test on per-query values, 10,000 rounds, seeded. */
function pairedP(a, b) {
  const d = a.map((x, i) => x - b[i]);
  const observed = Math.abs(d.reduce((s, x) => s + x, 0));
  const rng = new SeededRandom(13);
  let extreme = 0;
  for (let r = 0; r < 10_000; r++) {
    let s = 0;
    for (const x of d) s += rng.next() < 0.5 ? -x : x;
    if (Math.abs(s) >= observed - 1e-12) extreme++;
  }
  return (extreme + 1) / 10_001;
}

const rows = [];
const tests = [];
for (const split of values.splits.split(',')) {
  const { queries, qrels } = await loadSplit(ds, split);
  const perQuery = {};
  for (const [name, retriever] of variants) {
    const started = performance.now();
    const res = await retriever.searchBatch(queries, { k: 1000 });
    const seconds = (performance.now() - started) / 1000;
    const ev = evaluate(new Map(queries.map((q, i) => [q.id, res[i]])), qrels, ['ndcg@10', 'recall@100']);
    const m = ev.metrics;
    perQuery[name] = ev.perQuery;
    rows.push({ name, split, ndcg: m['ndcg@10'], r100: m['recall@100'], qps: queries.length / seconds });
  }
  const ids = [...qrels.keys()];
  for (const name of variants.slice(1).map(([n]) => n)) {
    for (const metric of ['ndcg@10', 'recall@100']) {
      const a = ids.map((id) => perQuery[name][metric]?.[id] ?? 0);
      const b = ids.map((id) => perQuery['bm25'][metric]?.[id] ?? 0);
      tests.push({ name, split, metric, delta: a.reduce((s, x, i) => s + x - b[i], 0) / ids.length, p: pairedP(a, b) });
    }
  }
}
const lines = ['| pipeline | split | nDCG@10 | R@100 | QPS |', '|---|---|---|---|---|'];
for (const r of rows) lines.push(`| ${r.name} | ${r.split} | ${r.ndcg.toFixed(4)} | ${r.r100.toFixed(4)} | ${r.qps.toFixed(0)} |`);
lines.push('', 'Against bm25, paired randomization test (10,000 sign flips, seed 13):', '', '| pipeline | split | metric | delta | p |', '|---|---|---|---|---|');
for (const t of tests) lines.push(`| ${t.name} | ${t.split} | ${t.metric} | ${t.delta >= 0 ? '+' : ''}${t.delta.toFixed(4)} | ${t.p.toFixed(4)} |`);
lines.push(
  '',
  'Extractive source (no LLM): pseudo-relevance feedback, not LameR with an LLM. QPS: one process, top 1000, the search phase only (sentence encoding and both BM25 rounds included); it varies with load.',
);
console.log(lines.join('\n'));
if (values.write)
  writeBenchSection('lamer-scifact', {
    title: '@quarry/lamer — SciFact, BM25 vs LameR with the extractive source',
    command: `node packages/lamer/bench/scifact.mjs --splits ${values.splits} --write`,
    markdown: lines.join('\n'),
  });
