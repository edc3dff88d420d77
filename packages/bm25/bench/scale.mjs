// BM25 at scale: build, size, load and query speed (pruned vs exhaustive, top 10/100/1000)
// on the seeded generated corpus (bench/scale-corpus.mjs) and on SciFact replicas.
// Runs against the built dist (`npx nx run @quarry/bm25:build` first).
// Usage: node bench/scale.mjs [--generated 100000,1000000] [--scifact 1,10,100] [--no-write]
// Each corpus's result is kept in bench/results/scale-<corpus>-<size>.json (a 1M-document run
// takes long on a shared machine, so corpora can be measured by separate invocations); the
// BENCHMARKS.md section is written from every stored result.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const args = process.argv.slice(2);
const list = (flag, fallback) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : fallback).split(',').filter(Boolean).map(Number);
const GENERATED = list('--generated', '100000,1000000');
const SCIFACT = list('--scifact', '1,10,100');
const WRITE = !args.includes('--no-write');
const child = fileURLToPath(new URL('./scale-run.mjs', import.meta.url));

function run(...childArgs) {
  const started = performance.now();
  const out = execFileSync(process.execPath, ['--max-old-space-size=16384', child, ...childArgs.map(String)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const result = JSON.parse(out.trim().split('\n').pop());
  console.error(`  ${childArgs.join(' ')}: ${((performance.now() - started) / 1000).toFixed(0)} s wall ${JSON.stringify(result)}`);
  return result;
}

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(RESULTS, { recursive: true });
for (const [kind, sizes] of [
  ['generated', GENERATED],
  ['scifact', SCIFACT],
]) {
  for (const size of sizes) {
    const dir = join(mkdtempSync(join(tmpdir(), 'bm25-scale-')), 'index');
    try {
      const built = run('build', kind, size, dir);
      const loaded = run('load', dir);
      const date = new Date().toISOString().slice(0, 10);
      writeFileSync(join(RESULTS, `scale-${kind}-${size}.json`), `${JSON.stringify({ ...built, ...loaded, date, command: `node packages/bm25/bench/scale.mjs --${kind} ${size}` }, null, 1)}\n`);
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  }
}

function dirname(path) {
  return path.slice(0, path.lastIndexOf('/'));
}

const results = readdirSync(RESULTS)
  .filter((f) => f.startsWith('scale-') && f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(RESULTS, f), 'utf8')))
  .sort((a, b) => a.kind.localeCompare(b.kind) || a.size - b.size);

const fmt = (x, digits = 0) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const corpus = (r) => (r.kind === 'generated' ? `generated ${fmt(r.docs)}` : `SciFact ×${r.size} (${fmt(r.docs)})`);
const speedRows = results.flatMap((r) =>
  [10, 100, 1000].map((k) => {
    const ex = r.qps[`exhaustive@${k}`];
    const pr = r.qps[`pruned@${k}`];
    return [corpus(r), k, fmt(ex), fmt(pr), `${(pr / ex).toFixed(2)}×`];
  }),
);
const sizeRows = results.map((r) => [
  corpus(r),
  fmt(r.terms),
  fmt(r.postings),
  fmt(r.docsPerCpuS),
  fmt(r.peakBuildMB),
  fmt(r.indexBytes / 2 ** 20),
  `${fmt(r.loadCpuS, 2)} / ${fmt(r.loadWallS, 2)}`,
  fmt(r.rssAfterLoadMB),
]);

const markdown = `
Each row comes from its own run (\`--generated N\` or \`--scifact n\`; the stored results in
\`packages/bm25/bench/results/\` give each row's command and date).

Seeded corpora, single thread, CPU time of the process (\`process.cpuUsage\`; the machine is
shared, so wall time would measure the neighbours). Each corpus is built, saved and queried in
one child process, and loaded again in another.

- **generated N**: \`bench/scale-corpus.mjs\` (seed 1): Zipf-Mandelbrot words (p(r) ~ (r + 30)^-1.5,
  so the vocabulary grows with Heaps' law: 1.14 M distinct terms at 1 M documents), SciFact's
  log-normal analysed document length (median 150 tokens), 35% of tokens repeating an earlier
  word of the document; 300 queries of SciFact's query length (median 9 terms), 60% of their
  words from one random document, the rest from the Zipf law (common words).
- **SciFact ×n**: SciFact's 5,183 documents and n − 1 perturbed copies (as in the section
  above), its 300 test queries: the vocabulary stays at 28,861 terms.
- **QPS**: \`search\` one query at a time, after one warm-up pass per algorithm, whole passes
  over the 300 queries for at least 2 CPU-seconds.
  "pruned" is the default block-max MaxScore (\`exhaustive: false\`), "exhaustive" scores
  every posting (\`exhaustive: true\`); both return identical hits (\`test/pruning.test.ts\`).
- **Build** = documents to a searchable index (generated documents are produced lazily
  during the build, so peak RSS is the index's; SciFact replicas are in memory first).
  **Load** = \`Bm25Index.load\` of the saved folder in a fresh process (CPU / wall seconds):
  it reads every file, verifies its sha256 and the structure.

### Query speed (queries per CPU-second)

${table(['corpus', 'k', 'exhaustive QPS', 'pruned QPS', 'pruned / exhaustive'], speedRows)}

### Build, size and load

${table(['corpus', 'terms', 'postings', 'build docs per CPU-s', 'peak RSS during build MB', 'index MB', 'load s (CPU / wall)', 'RSS after load MB'], sizeRows)}
`;

console.log(markdown);
if (WRITE) {
  writeBenchSection('bm25-scale', {
    title: 'BM25 at scale: dynamic pruning, generated corpus',
    command: 'node packages/bm25/bench/scale.mjs --generated <N> | --scifact <n>',
    markdown,
  });
  console.error('wrote the bm25-scale section of BENCHMARKS.md');
}
