// Child process: one engine at one corpus scale; prints one JSON line of results.
// Each engine runs in its own process so that peak RSS (process.resourceUsage().maxRSS)
// is its own. Usage: node run-engine.mjs <engine|baseline> <scale> <same|default> [quality]
import { evaluate } from '@quarry/core';
import { expandQrels, loadScifact, scaleCorpus } from './corpus.mjs';
import { engines } from './engines.mjs';

const [engineName, scaleArg, params = 'same', mode = 'full'] = process.argv.slice(2);
const scale = Number(scaleArg);
const { docs: base, queries, qrels } = await loadScifact();
const docs = scaleCorpus(base, scale);
const judged = expandQrels(qrels, scale);
const texts = queries.map((q) => q.text);
const K = 10;
const MIN_MS = 2000;
const SLOW_PASS_MS = 5000;

const result = { engine: engineName, scale, params, docs: docs.length };
if (engineName === 'baseline') {
  // Corpus loaded and nothing else: the RSS every engine starts from.
  result.maxRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify(result));
  process.exit(0);
}
const engine = engines[engineName];
let t0 = performance.now();
const state = await engine.build(docs, params);
result.buildMs = performance.now() - t0;

// Quality pass (also the warm-up): top 10 for every test query, one at a time.
const run = new Map();
t0 = performance.now();
for (const [i, text] of texts.entries()) run.set(queries[i].id, await engine.search(state, text, K));
const firstPassMs = performance.now() - t0;
result.ndcg10 = evaluate(run, judged, ['ndcg@10']).metrics['ndcg@10'];

if (mode === 'full') {
  if (firstPassMs >= SLOW_PASS_MS) {
    // A pass this long is its own measurement: warm-up is a negligible part of it.
    result.qps = texts.length / (firstPassMs / 1000);
    result.qpsFromFirstPass = true;
  } else {
    // One query at a time, whole passes over the 300 queries until MIN_MS has passed.
    let n = 0;
    t0 = performance.now();
    do {
      for (const text of texts) await engine.search(state, text, K);
      n += texts.length;
    } while (performance.now() - t0 < MIN_MS);
    result.qps = n / ((performance.now() - t0) / 1000);
  }
  if (engine.searchBatch) {
    let n = 0;
    t0 = performance.now();
    do {
      await engine.searchBatch(state, texts, K);
      n += texts.length;
    } while (performance.now() - t0 < MIN_MS);
    result.batchQps = n / ((performance.now() - t0) / 1000);
  }
}
result.maxRssMB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify(result));
