// LLM2GR (default scorer: corpus statistics, no LLM) vs BM25 on SciFact test and test-unseen:
// nDCG@10, page-level R-precision, R@100, generation time per query. BM25 runs through the
// quarry CLI (`quarry eval --pipeline bm25 --run`), both runs are scored by @quarry/core (trec_eval-exact).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDocStore, evaluate, loadSplit, openBeirDataset, readCorpus, readTrecRun } from '@quarry/core';
import { llm2grPlugin } from '../dist/index.js';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';
import { root } from './corpus.mjs';

const datasetDir = join(root, 'datasets', 'scifact');
const dataset = openBeirDataset(datasetDir);
const metrics = ['ndcg@10', 'rprec', 'recall@100'];
const limit = process.env.LIMIT ? Number(process.env.LIMIT) : Infinity;

const docs = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile));
const c0 = process.cpuUsage();
const retriever = await llm2grPlugin.create(llm2grPlugin.schema.parse({}), { docs });
const buildCpu = (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1e6;
// Variant: question tokens expanded with their 5 nearest corpus tokens in the own encoder (cosine >= 0.4).
const exact = await llm2grPlugin.create(llm2grPlugin.schema.parse({ similarTokens: 5, minSimilarity: 0.4 }), { docs });

const test = await loadSplit(dataset, 'test');
const unseen = await loadSplit(dataset, 'test-unseen');
async function runAllQueries(r) {
  const runAll = new Map();
  const runKept = new Map();
  const cpuMs = new Map();
  const wallMs = new Map();
  let done = 0;
  for (const q of test.queries.slice(0, limit)) {
    const c = process.cpuUsage();
    const gen = await r.generate(q);
    const used = process.cpuUsage(c);
    cpuMs.set(q.id, (used.user + used.system) / 1000);
    wallMs.set(q.id, gen.ms);
    runAll.set(q.id, gen.hits.slice(0, 100));
    const kept = new Set(gen.titles.slice(0, 2).flatMap((t) => t.docs));
    runKept.set(
      q.id,
      gen.hits.filter((h) => kept.has(h.id)),
    );
    if (++done % 50 === 0) process.stderr.write(`${done} queries\n`);
  }
  return { runAll, runKept, cpuMs, wallMs };
}
const main = await runAllQueries(retriever);
const ablation = await runAllQueries(exact);
const { runAll } = main;

const bm25 = new Map();
const tmp = mkdtempSync(join(tmpdir(), 'llm2gr-bm25-'));
for (const split of ['test', 'test-unseen']) {
  const runFile = join(tmp, `${split}.trec`);
  execFileSync(
    process.execPath,
    [join(root, 'apps', 'cli', 'dist', 'bin.js'), 'eval', '--dataset', datasetDir, '--split', split, '--pipeline', 'bm25', '--k', '100', '--run', runFile, '--quiet', '--json'],
    { encoding: 'utf8', env: { ...process.env, QUARRY_CACHE_DIR: join(tmp, 'cache') } },
  );
  bm25.set(split, await readTrecRun(runFile));
}

const sub = (run, qrels) => new Map([...run].filter(([id]) => qrels.has(id)));
const subQrels = (qrels) => new Map([...qrels].filter(([id]) => runAll.has(id)));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const rows = [];
const results = {};
for (const [split, { qrels }] of [
  ['test', test],
  ['test-unseen', unseen],
]) {
  const q = subQrels(qrels);
  const ids = [...q.keys()];
  const entries = [
    ['bm25', evaluate(sub(bm25.get(split), q), q, metrics).metrics, undefined],
    ['llm2gr (default scorer, hits: all)', evaluate(sub(main.runAll, q), q, metrics).metrics, main],
    ['llm2gr (default scorer, hits: kept = top 2 titles)', evaluate(sub(main.runKept, q), q, metrics).metrics, main],
    ['llm2gr + own-encoder token neighbours (similarTokens 5, cos >= 0.4), hits: all', evaluate(sub(ablation.runAll, q), q, metrics).metrics, ablation],
  ];
  results[split] = Object.fromEntries(entries.map(([name, m]) => [name, m]));
  for (const [name, m, t] of entries) {
    rows.push([
      split,
      name,
      String(ids.length),
      m['ndcg@10'].toFixed(4),
      m['rprec'].toFixed(4),
      m['recall@100'].toFixed(4),
      t
        ? `${mean(ids.map((id) => t.cpuMs.get(id))).toFixed(0)} / ${pct(
            ids.map((id) => t.cpuMs.get(id)),
            0.95,
          ).toFixed(0)}`
        : '—',
      t ? mean(ids.map((id) => t.wallMs.get(id))).toFixed(0) : '—',
    ]);
  }
}
const md = [
  'SciFact (5,183 abstracts with titles). `llm2gr` is the default pipeline: its scorer is corpus statistics read from the FM-index and the',
  'title trie (no language model; see the package README), beam 15 / keep 2 titles, 16-token prefixes with beam 10, 150-token passages,',
  'score 0.9 title + 0.1 passage. The last row of each split expands every question token with its 5 nearest corpus tokens (cosine >= 0.4)',
  'in the own static encoder (@quarry/encoders scifact-static, trained on SciFact train queries). BM25 is `quarry eval --pipeline bm25` (Anserini defaults). Page-level R-precision = trec_eval `Rprec`',
  '(a SciFact document is a page). Generation time: CPU ms per query (mean / p95) and mean wall ms (the machine is shared: wall includes waiting).',
  `Index build (tokenize + trie + FM-index): ${buildCpu.toFixed(1)} CPU s.`,
  '',
  table(['split', 'run', 'queries', 'nDCG@10', 'R-precision', 'R@100', 'CPU ms/query (mean / p95)', 'wall ms/query'], rows),
].join('\n');
console.log(md);
if (limit === Infinity) {
  writeBenchSection('llm2gr-scifact', { title: '@quarry/llm2gr — SciFact quality and generation time', command: 'npm run scifact -w @quarry/llm2gr', markdown: md });
  writeFileSync(join(root, 'packages', 'llm2gr', 'bench', 'scifact-results.json'), `${JSON.stringify({ buildCpu, results }, null, 2)}\n`);
}
