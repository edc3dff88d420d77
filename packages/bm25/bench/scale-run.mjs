// Child process of bench/scale.mjs: one corpus, one process (so peak RSS is its own).
//   node scale-run.mjs build <generated|scifact> <docs|scale> <dir>  build, save, time queries
//   node scale-run.mjs load <dir>                                   load time and RSS after load
// Prints one JSON line. Times are CPU time of this process (process.cpuUsage), as the machine is shared.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Bm25Index } from '@quarry/bm25';
import { loadScifact, scaleCorpus } from './corpus.mjs';
import { generateDocs, generateQueries } from './scale-corpus.mjs';

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const rssMB = () => process.memoryUsage().rss / 2 ** 20;
const [mode, ...args] = process.argv.slice(2);

if (mode === 'load') {
  const [dir] = args;
  const rssBefore = rssMB();
  const wall0 = performance.now();
  const cpu0 = cpu();
  const index = await Bm25Index.load(dir);
  const result = { loadCpuS: cpu() - cpu0, loadWallS: (performance.now() - wall0) / 1000, rssAfterLoadMB: rssMB(), rssBeforeLoadMB: rssBefore, docs: index.size };
  console.log(JSON.stringify(result));
  process.exit(0);
}

const [kind, sizeArg, dir] = args;
const size = Number(sizeArg);
let docs;
let texts;
if (kind === 'generated') {
  docs = generateDocs(size);
  texts = generateQueries(300, size).map((q) => q.text);
} else {
  const scifact = await loadScifact();
  docs = scaleCorpus(scifact.docs, size);
  texts = scifact.queries.map((q) => q.text);
}
const rssCorpus = rssMB();
const cpu0 = cpu();
const index = await Bm25Index.build(docs);
const buildCpuS = cpu() - cpu0;
const peakBuildMB = process.resourceUsage().maxRSS / 1024;
const stats = index.stats();
await index.save(dir);
const indexBytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);

// Queries one at a time, CPU time, after one warm-up pass of each algorithm (which also
// computes each query term's scores once), whole passes for at least MIN_CPU_S.
const MIN_CPU_S = Number(process.env.QUARRY_BENCH_MIN_S ?? 2);
for (const exhaustive of [true, false]) for (const text of texts) await index.search(text, { k: 10, exhaustive });
const qps = {};
for (const k of [10, 100, 1000]) {
  for (const exhaustive of [true, false]) {
    let n = 0;
    const t0 = cpu();
    do {
      for (const text of texts) await index.search(text, { k, exhaustive });
      n += texts.length;
    } while (cpu() - t0 < MIN_CPU_S);
    qps[`${exhaustive ? 'exhaustive' : 'pruned'}@${k}`] = n / (cpu() - t0);
  }
}
console.log(
  JSON.stringify({
    kind,
    size,
    docs: stats.docs,
    terms: stats.terms,
    postings: stats.postings,
    buildCpuS,
    docsPerCpuS: stats.docs / buildCpuS,
    peakBuildMB,
    rssCorpusMB: rssCorpus,
    indexBytes,
    qps,
    queries: texts.length,
  }),
);
