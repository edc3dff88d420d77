// Dense index benchmark: HNSW (hnswlib-node) against exact FlatIndex search on
// low-rank synthetic vectors. Run from the package: `npm run bench` (needs `npx tsup` first).
//
// Each (size, index) pair runs in its own child process so that peak RSS
// (process.resourceUsage().maxRSS) belongs to that index alone, plus the raw
// vectors every child generates. Writes the "vector" section of BENCHMARKS.md.
//
// Options (for quick trials): --sizes 10000,30000  --queries 1000  --no-write
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gaussianMatrix, lowRank } from '../../../tools/bench-data.mjs';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const DIM = 128;
const RANK = 16;
const NOISE = 0.25;
const K = 10;
const M = 16;
const EF_CONSTRUCTION = 200;
const EFS = [16, 32, 64, 128, 256];
const SEED = { basis: 1, docs: 2, queries: 3 };
const SHAPE = { dim: DIM, rank: RANK, noise: NOISE };
/** Queries timed one at a time against the exact index (it is slow, the answer is stable). */
const EXACT_SINGLE_QUERIES = 200;
/** Every timed loop runs this many times and the fastest counts, to shed noise from other processes. */
const REPEATS = 3;

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

if (args[0] === '--child') await child(args[1], Number(args[2]), Number(args[3]), args[4]);
else await parent();

async function parent() {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
    console.error('dist/ is missing: build the package first (npx tsup, or npm run build at the root).');
    process.exit(1);
  }
  const sizes = option('sizes', '10000,30000,100000').split(',').map(Number);
  const queries = Number(option('queries', '1000'));
  const work = mkdtempSync(join(tmpdir(), 'quarry-vector-bench-'));
  const self = fileURLToPath(import.meta.url);
  const results = [];
  const started = performance.now();
  try {
    for (const n of sizes) {
      const truthFile = join(work, `truth-${n}.json`);
      const run = (kind) => {
        const out = execFileSync(process.execPath, [self, '--child', kind, String(n), String(queries), truthFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
        return JSON.parse(out.trim().split('\n').at(-1));
      };
      const flat = run('flat');
      const hnsw = run('hnsw');
      results.push({ n, flat, hnsw });
      console.error(
        `n=${n}: exact ${flat.singleQps.toFixed(1)} q/s single, ${flat.batchQps.toFixed(1)} batched; hnsw build ${hnsw.buildS.toFixed(1)} s; ` +
          hnsw.efs.map((e) => `ef=${e.ef} R@10=${e.recall.toFixed(3)} ${e.qps.toFixed(0)} q/s`).join(', '),
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const totalS = (performance.now() - started) / 1000;
  const markdown = report(results, queries, totalS);
  console.log(markdown);
  if (!args.includes('--no-write')) {
    writeBenchSection('vector', { title: 'Dense indexes: HNSW vs exact', command: 'npm run bench -w @quarry/vector', markdown });
  }
}

function report(results, queries, totalS) {
  const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
  const lines = [];
  lines.push(
    `Data: ${DIM}-d vectors from a rank-${RANK} Gaussian latent mixed into ${DIM} dimensions, plus Gaussian noise (σ = ${NOISE}, signal variance 1 per component), seeded; cosine metric. ` +
      `${queries} queries from the same distribution (not in the index). Recall@${K} is against exact search (FlatIndex). ` +
      `HNSW: M = ${M}, efConstruction = ${EF_CONSTRUCTION}, one thread (hnswlib-node has no parallel add). ` +
      `QPS is one query per call for HNSW and "single"; "batched" passes all ${queries} queries to one \`searchBatch\` call. ` +
      `Exact single-query QPS is timed on the first ${EXACT_SINGLE_QUERIES} queries. Every timed loop runs ${REPEATS} times; the fastest run counts. Build times are one run. Each index runs in its own child process; peak RSS includes the raw vectors (${DIM * 4} bytes each) that process generated.`,
  );
  lines.push('', `### Recall and throughput (k = ${K})`, '');
  const rows = [];
  for (const { n, flat, hnsw } of results) {
    rows.push([n.toLocaleString('en-US'), 'exact (FlatIndex), single', '1.000', flat.singleQps.toFixed(0), (1000 / flat.singleQps).toFixed(2), '1.0']);
    rows.push([n.toLocaleString('en-US'), 'exact (FlatIndex), batched', '1.000', flat.batchQps.toFixed(0), (1000 / flat.batchQps).toFixed(2), (flat.batchQps / flat.singleQps).toFixed(1)]);
    for (const e of hnsw.efs) rows.push([n.toLocaleString('en-US'), `HNSW ef=${e.ef}`, e.recall.toFixed(3), e.qps.toFixed(0), (1000 / e.qps).toFixed(3), (e.qps / flat.singleQps).toFixed(0)]);
  }
  lines.push(table(['vectors', 'index', `recall@${K}`, 'QPS', 'ms/query', 'QPS ÷ exact single'], rows));
  lines.push('', '### Build, memory and disk', '');
  const build = results.map(({ n, flat, hnsw }) => [
    n.toLocaleString('en-US'),
    hnsw.buildS.toFixed(1),
    (n / hnsw.buildS).toFixed(0),
    mb(hnsw.diskBytes),
    mb(hnsw.maxRssBytes),
    flat.buildS.toFixed(2),
    mb(flat.diskBytes),
    mb(flat.maxRssBytes),
  ]);
  lines.push(table(['vectors', 'HNSW build (s)', 'HNSW adds/s', 'HNSW on disk (MiB)', 'HNSW peak RSS (MiB)', 'flat build (s)', 'flat on disk (MiB)', 'flat peak RSS (MiB)'], build));
  lines.push('', `Whole run: ${(totalS / 60).toFixed(1)} min.`);
  return lines.join('\n');
}

async function child(kind, n, queries, truthFile) {
  const { FlatIndex, HnswIndex } = await import('../dist/index.js');
  const basis = gaussianMatrix(RANK, DIM, SEED.basis);
  const docs = lowRank(n, basis.data, SHAPE, SEED.docs);
  const qs = lowRank(queries, basis.data, SHAPE, SEED.queries);
  const ids = Array.from({ length: n }, (_, i) => `d${i}`);
  const dir = mkdtempSync(join(tmpdir(), `quarry-vector-${kind}-`));
  const out = {};
  try {
    if (kind === 'flat') {
      const t = performance.now();
      const index = new FlatIndex({ dim: DIM, metric: 'cosine' });
      index.add(ids, docs);
      out.buildS = (performance.now() - t) / 1000;
      index.searchBatch(slice(qs, 0, 8), { k: K }); // warm-up
      let truth;
      out.batchQps = queries / fastest(() => (truth = index.searchBatch(qs, { k: K })));
      const single = Math.min(EXACT_SINGLE_QUERIES, queries);
      out.singleQps =
        single /
        fastest(() => {
          for (let i = 0; i < single; i++) index.search(row(qs, i), { k: K });
        });
      writeFileSync(truthFile, JSON.stringify(truth.map((hits) => hits.map((h) => h.id))));
      await index.save(dir);
    } else {
      const truth = JSON.parse(readFileSync(truthFile, 'utf8'));
      const t = performance.now();
      const index = new HnswIndex({ dim: DIM, metric: 'cosine', M, efConstruction: EF_CONSTRUCTION, seed: 42, capacity: n });
      index.add(ids, docs);
      out.buildS = (performance.now() - t) / 1000;
      out.efs = [];
      for (const ef of EFS) {
        index.setEf(ef);
        for (let i = 0; i < 50; i++) index.search(row(qs, i), { k: K }); // warm-up
        let found;
        const qps =
          queries /
          fastest(() => {
            found = [];
            for (let i = 0; i < queries; i++) found.push(index.search(row(qs, i), { k: K }));
          });
        let hit = 0;
        found.forEach((hits, q) => {
          const want = new Set(truth[q]);
          for (const h of hits) if (want.has(h.id)) hit++;
        });
        out.efs.push({ ef, recall: hit / (queries * K), qps });
      }
      await index.save(dir);
    }
    out.diskBytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  out.maxRssBytes = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify(out));
}

/** Seconds taken by the fastest of REPEATS runs of `fn`. */
function fastest(fn) {
  let best = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

function row(m, i) {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

function slice(m, from, to) {
  return { rows: to - from, cols: m.cols, data: m.data.subarray(from * m.cols, to * m.cols) };
}
