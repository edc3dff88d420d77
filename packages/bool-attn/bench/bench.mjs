// Added query latency of the Boolean modules, against the plain encoder, at three query sizes;
// extra parameters; peak RSS. Writes its section of BENCHMARKS.md.
// Usage: npx tsup && node bench/bench.mjs [--no-write]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { openBeirDataset, readCorpus } from '@quarry/core';
import { BoolRetriever, bundledBoolModelDir, loadBoolEncoder, readBoolQueries } from '../dist/index.js';
import { writeBenchSection } from '../../../tools/bench-report.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({ options: { 'no-write': { type: 'boolean', default: false }, rounds: { type: 'string', default: '5' } } });
const bench = here('../benchmark/scifact-bool');
const encoder = await loadBoolEncoder(bundledBoolModelDir());
const pruned = await loadBoolEncoder(bundledBoolModelDir(), { prune: 1e-6 });
const all = await readBoolQueries(bench);
const test = all.filter((q) => q.meta.split === 'test');
const plainQ = test.filter((q) => q.meta.op === 'none').map((q) => q.text);
const boolQ = test.filter((q) => q.meta.op !== 'none').map((q) => q.text);
// Long: three claims joined by two operators ("A but not B, or C"), from the test sources.
const clause = (t) => t.replace(/[.\s]+$/u, '');
const longQ = plainQ.slice(0, 200).map((t, i) => `${clause(t)} but not ${clause(plainQ[(i + 1) % plainQ.length])}, or ${clause(plainQ[(i + 2) % plainQ.length])}`);
const sets = [
  ['plain SciFact claims', plainQ],
  ['Boolean benchmark queries', boolQ],
  ['long (three claims, two operators)', longQ],
];
const tokens = (qs) => qs.reduce((s, q) => s + encoder.tokenize(q).length, 0) / qs.length;
const rounds = Number(values.rounds);
function time(fn, qs) {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const q of qs) fn(q);
    best = Math.min(best, (performance.now() - t0) / qs.length);
  }
  return best;
}
const docs = [];
for await (const d of readCorpus(openBeirDataset(bench).corpusFile)) docs.push(d);
const retriever = await BoolRetriever.fromDocs(docs, encoder);
const baseline = new BoolRetriever(encoder.asBaseline(), retriever.ids, retriever.vectors);
const rows = [];
for (const [name, qs] of sets) {
  const plainMs = time((q) => encoder.encodePlain([q]), qs);
  const boolMs = time((q) => encoder.weights([q]) && encoder.encodePlain([q]), qs); // warm both paths
  const boolEnc = time((q) => {
    const { ids, weights } = encoder.weights([q]);
    encoder.base.encodeIds(ids, { tokenWeights: weights });
  }, qs);
  const prunedMs = time((q) => {
    const { ids, weights } = pruned.weights([q]);
    pruned.base.encodeIds(ids, { tokenWeights: weights });
  }, qs);
  let t0 = performance.now();
  for (const q of qs.slice(0, 100)) await baseline.search(q, { k: 10 });
  const searchPlain = (performance.now() - t0) / Math.min(100, qs.length);
  t0 = performance.now();
  for (const q of qs.slice(0, 100)) await retriever.search(q, { k: 10 });
  const searchBool = (performance.now() - t0) / Math.min(100, qs.length);
  void boolMs;
  rows.push({ name, n: qs.length, tokens: tokens(qs), plainMs, boolMs: boolEnc, prunedMs, searchPlain, searchBool });
}
const base = encoder.base.model.config;
const baseParams = base.rows * base.dim + (base.learnWeights ? base.rows : 0);
const extra = encoder.modules.size;
const peak = process.resourceUsage().maxRSS / 1024;
const fmt = (x) => (x < 1 ? x.toFixed(3) : x.toFixed(2));
const table = [
  '| queries | n | tokens (mean) | plain encode ms/query | Boolean encode ms/query | ratio | added ms | Boolean, prune 1e-6, ms/query | search (5,183 docs) plain / Boolean ms |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.n} | ${r.tokens.toFixed(1)} | ${fmt(r.plainMs)} | ${fmt(r.boolMs)} | ${(r.boolMs / r.plainMs).toFixed(1)}× | ${fmt(r.boolMs - r.plainMs)} | ${fmt(r.prunedMs)} | ${fmt(r.searchPlain)} / ${fmt(r.searchBool)} |`,
  ),
];
const md = [
  `Query encoding, one query per call, best of ${rounds} rounds; the plain encoder is the same own static model (scifact-static) through the same tokenisation and pooling, so the difference is the modules' cost (dominated by the scope head: one scope per operator and cue position, O(3 n² h) GELUs for n tokens). \`prune 1e-6\` skips cue positions whose gated weight is below 1e-6 (pooling weights change by at most 1.4e-5 on the test queries). Search = encode + exact scan of the SciFact corpus. The machine was shared with other jobs (load average above 10 on 2 cores): absolute times are inflated, ratios less so.`,
  '',
  ...table,
  '',
  `Extra parameters: ${extra.toLocaleString('en')} on top of the base's ${baseParams.toLocaleString('en')} (${((100 * extra) / baseParams).toFixed(2)}%). Peak RSS of this benchmark: ${peak.toFixed(0)} MiB.`,
].join('\n');
console.log(md);
if (!values['no-write']) writeBenchSection('bool-attn', { title: '@quarry/bool-attn — added query latency of the Boolean modules', command: 'npm run bench -w @quarry/bool-attn', markdown: md });
