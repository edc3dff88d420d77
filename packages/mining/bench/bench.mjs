// Mining at scale: BM25 teacher, PercPos(0.95), 4 negatives from the top 30, over a
// 100k-document corpus built from real text, at 10k / 30k / 100k queries; each size in
// its own process. Extrapolates to NV-Retriever's 700k queries from the largest run.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const sizes = (process.env.QUARRY_MINE_BENCH_SIZES ?? '10000x100000,30000x100000,100000x100000').split(',').map((s) => s.split('x').map(Number));
const results = [];
for (const [q, d] of sizes) {
  process.stderr.write(`mining ${q} queries over ${d} docs...\n`);
  const out = execFileSync(process.execPath, [`${here}run-size.mjs`, String(q), String(d)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  results.push(JSON.parse(out.trim().split('\n').pop()));
}
const largest = results[results.length - 1];
const first = results[0];
const projectedMinutes = 700_000 / largest.qps / 60;
// Input queries and their qrels stay in memory (the output streams to disk), so RSS grows
// with the query count: extrapolate linearly from the smallest and largest runs.
const rssPerQuery = (largest.peakRssMiB - first.peakRssMiB) / (largest.queries - first.queries);
const projectedRss = largest.peakRssMiB + rssPerQuery * (700_000 - largest.queries);
const rows = results.map((r) => [
  r.queries.toLocaleString('en'),
  r.docs.toLocaleString('en'),
  r.buildSeconds.toFixed(1),
  r.mineSeconds.toFixed(1),
  r.qps.toFixed(0),
  r.peakRssMiB.toFixed(0),
  r.outMiB.toFixed(0),
  r.shortQueries,
]);
const markdown = `Teacher: \`Bm25Index\` (k1 0.9, b 0.4, English analyzer). Method: PercPos 0.95, 4 negatives from the teacher's top 30, \`n-tuple-scores\` JSONL with texts, batches of 512 queries, checkpoints every 2 s. Corpus: documents of 4-8 sentences sampled from SciFact abstracts; queries: 6-14 word spans of one sentence of their positive (seeded, \`bench/synthetic.mjs\`). One process per size; peak RSS includes the corpus, the index, the doc store and the input queries with their qrels.

${table(['queries', 'docs', 'index build (s)', 'mining (s)', 'queries/s', 'peak RSS (MiB)', 'output (MiB)', 'queries short of 4'], rows)}

Extrapolated to NV-Retriever's 700k queries (linear in queries from these runs): **${projectedMinutes.toFixed(1)} minutes** (goal < 30) and **~${(projectedRss / 1024).toFixed(1)} GiB peak RSS** (goal < 4 GiB; ${(rssPerQuery * 1024).toFixed(1)} KiB per query, which is the queries and qrels held in memory as input — the mined rows stream to disk, and the miner holds one batch of teacher results at a time).`;
writeBenchSection('mining', { title: 'Hard-negative mining at scale', command: 'npm run bench -w @quarry/mining', markdown });
console.log(markdown);
