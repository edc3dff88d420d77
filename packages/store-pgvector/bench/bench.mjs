// Postgres + pgvector (through pg, over the wire protocol) beside in-process hnswlib
// (@quarry/vector's HnswIndex) on the same low-rank synthetic vectors as the vector
// benchmark: load throughput, index build, query latency and recall@10 against exact
// search, at three sizes. Run from the package: `npm run bench` (needs `npx tsup` first).
//
// The Postgres here is PGlite (Postgres 17 + pgvector 0.8.1 compiled to WebAssembly, one
// backend, single-threaded) behind its socket server in a child process: the client code
// path is exactly the one a real server gets, but the server's speed is WASM's, not a
// native Postgres's (not measured here).
//
// Options (for quick trials): --sizes 5000,20000  --queries 300  --no-write
import { FlatIndex, HnswIndex } from '@quarry/vector';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gaussianSource, lowRank } from '../../../tools/bench-data.mjs';
import { writeBenchSection } from '../../../tools/bench-report.mjs';
import { PgVectorStore } from '../dist/index.js';

const DIM = 128;
const RANK = 16;
const NOISE = 0.25;
const K = 10;
const M = 16;
const EF_CONSTRUCTION = 64; // pgvector's default; hnswlib gets the same
const EFS = [40, 100];
const LOAD_BATCH = 1000;
const QUERY_BATCH = 32;
const SEED = { basis: 1, docs: 2, queries: 3 };
const SHAPE = { dim: DIM, rank: RANK, noise: NOISE };

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const sizes = option('sizes', '5000,20000,50000').split(',').map(Number);
const nQueries = Number(option('queries', '300'));

const rowsOf = (m, from, to) => ({ rows: to - from, cols: m.cols, data: m.data.subarray(from * m.cols, to * m.cols) });
const recallAt = (got, truth) => {
  let hit = 0;
  got.forEach((hits, i) => {
    const t = new Set(truth[i].map((h) => h.id));
    hit += hits.filter((h) => t.has(h.id)).length;
  });
  return hit / (K * got.length);
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
/** On-CPU seconds (user + system) of a process so far, from /proc (the server's; this machine is shared). */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in clock ticks (USER_HZ = 100)
};
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const peakRssMiB = (pid) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

async function startServer(dataDir) {
  const script = fileURLToPath(new URL('../scripts/pglite-server.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, '--data', dataDir, '--max-connections', '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, port: JSON.parse(line).port };
}

/** Times `fn` over every query one at a time (after an untimed warm-up over the first 20); returns per-query ms. */
async function timeSingles(queries, fn) {
  for (let i = 0; i < Math.min(20, queries.rows); i++) await fn(queries.data.subarray(i * DIM, (i + 1) * DIM));
  const ms = [];
  for (let i = 0; i < queries.rows; i++) {
    const q = queries.data.subarray(i * DIM, (i + 1) * DIM);
    const t0 = performance.now();
    await fn(q);
    ms.push(performance.now() - t0);
  }
  return ms;
}

const started = performance.now();
const loadBefore = loadavg()[0];
const basis = gaussianSource(SEED.basis);
const basisData = Float32Array.from({ length: RANK * DIM }, basis);
const results = [];
const work = mkdtempSync(join(tmpdir(), 'quarry-pg-bench-'));
try {
  for (const n of sizes) {
    const docs = lowRank(n, basisData, SHAPE, SEED.docs);
    const queries = lowRank(nQueries, basisData, SHAPE, SEED.queries);
    const ids = Array.from({ length: n }, (_, i) => `d${i}`);
    const exact = new FlatIndex({ dim: DIM, metric: 'cosine' });
    exact.add(ids, docs);
    const truth = exact.searchBatch(queries, { k: K });

    // In-process hnswlib.
    let t0 = performance.now();
    let c0 = selfCpu();
    const hnsw = new HnswIndex({ dim: DIM, metric: 'cosine', M, efConstruction: EF_CONSTRUCTION, capacity: n });
    hnsw.add(ids, docs);
    const hnswBuildS = (performance.now() - t0) / 1000;
    const hnswBuildCpu = selfCpu() - c0;
    const local = {};
    for (const ef of EFS) {
      hnsw.setEf(ef);
      const cpu0 = selfCpu();
      const ms = await timeSingles(queries, async (q) => hnsw.search(q, { k: K }));
      const cpuPerQueryMs = ((selfCpu() - cpu0) / (queries.rows + Math.min(20, queries.rows))) * 1000;
      local[ef] = { recall: recallAt(hnsw.searchBatch(queries, { k: K }), truth), p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), cpuPerQueryMs };
    }

    // Postgres + pgvector through pg, server in its own process.
    const server = await startServer(join(work, `db-${n}`));
    const store = await PgVectorStore.open({ url: `postgres://postgres@127.0.0.1:${server.port}/postgres`, dim: DIM, table: `bench_${n}`, poolSize: 1, batchSize: LOAD_BATCH, statementTimeoutMs: 0 });
    const pid = server.child.pid;
    t0 = performance.now();
    c0 = cpuSeconds(pid) + selfCpu();
    await store.upsert(ids, docs);
    const loadS = (performance.now() - t0) / 1000;
    const loadCpu = cpuSeconds(pid) + selfCpu() - c0;
    t0 = performance.now();
    c0 = cpuSeconds(pid);
    await store.createIndex({ m: M, efConstruction: EF_CONSTRUCTION });
    const indexS = (performance.now() - t0) / 1000;
    const indexCpu = cpuSeconds(pid) - c0;
    const pgExactMs = await timeSingles(rowsOf(queries, 0, Math.min(50, nQueries)), (q) => store.search(q, { k: K, exact: true }));
    const pg = {};
    for (const ef of EFS) {
      const cpu0 = cpuSeconds(pid) + selfCpu();
      const ms = await timeSingles(queries, (q) => store.search(q, { k: K, efSearch: ef }));
      const cpuPerQueryMs = ((cpuSeconds(pid) + selfCpu() - cpu0) / (queries.rows + Math.min(20, queries.rows))) * 1000;
      t0 = performance.now();
      const got = [];
      for (let i = 0; i < nQueries; i += QUERY_BATCH) got.push(...(await store.searchBatch(rowsOf(queries, i, Math.min(nQueries, i + QUERY_BATCH)), { k: K, efSearch: ef })));
      const batchQps = nQueries / ((performance.now() - t0) / 1000);
      pg[ef] = { recall: recallAt(got, truth), p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), batchQps, cpuPerQueryMs };
    }
    const serverRss = peakRssMiB(server.child.pid);
    await store.close();
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    const result = { n, hnswBuildS, hnswBuildCpu, local, loadS, loadCpu, indexS, indexCpu, pgExactP50: percentile(pgExactMs, 0.5), pg, serverRss };
    results.push(result);
    console.error(JSON.stringify(result));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const clientRss = process.resourceUsage().maxRSS / 1024;
const minutes = (performance.now() - started) / 60000;

const f = (x, d = 2) => x.toFixed(d);
const loadRows = results.map((r) => [
  r.n.toLocaleString('en-US'),
  f(r.n / r.loadS, 0),
  `${f(r.loadS, 1)} (${f(r.loadCpu, 1)})`,
  `${f(r.indexS, 1)} (${f(r.indexCpu, 1)})`,
  f(r.n / (r.loadS + r.indexS), 0),
  `${f(r.hnswBuildS, 1)} (${f(r.hnswBuildCpu, 1)})`,
  f((r.loadCpu + r.indexCpu) / r.hnswBuildCpu, 1),
  f(r.serverRss, 0),
]);
const queryRows = results.flatMap((r) =>
  EFS.map((ef) => [
    r.n.toLocaleString('en-US'),
    String(ef),
    f(r.local[ef].recall, 3),
    f(r.pg[ef].recall, 3),
    f(r.local[ef].p50, 3),
    f(r.pg[ef].p50, 2),
    f(r.pg[ef].p95, 2),
    f(r.pg[ef].p50 / r.local[ef].p50, 0),
    `${f(r.local[ef].cpuPerQueryMs, 3)} / ${f(r.pg[ef].cpuPerQueryMs, 2)}`,
    f(r.pg[ef].batchQps, 0),
    f(r.pgExactP50, 1),
  ]),
);
const markdown = `
Data: ${DIM}-d vectors from a rank-${RANK} Gaussian latent plus noise (σ = ${NOISE}), seeded (the vector benchmark's distribution); cosine. ${nQueries} queries from the same distribution. Recall@10 is against exact search (@quarry/vector FlatIndex). Both HNSW indexes: M = ${M}, ef_construction = ${EF_CONSTRUCTION} (pgvector's default). **Postgres is PGlite** (Postgres 17.5 + pgvector 0.8.1 compiled to WebAssembly, single backend) in a child process behind its socket server; Quarry talks to it through \`pg\` over loopback TCP exactly as to a server. Not measured here: a native build of Postgres and pgvector (SIMD distance code, no WebAssembly) should be faster per statement, so read the Postgres columns as this setup's figures, not pgvector's native speed. Latency is one query per call after a warm-up of 20 (\`store.search\`: encode the vector as a bind parameter, one round trip, parse rows), p50/p95 over all queries; "batched" sends ${QUERY_BATCH} queries per statement (LATERAL join). Load: binary COPY in batches of ${LOAD_BATCH} rows, each staged and upserted in one transaction (the resumable path), pool size 1.

### Load and build

| vectors | Postgres load (docs/s) | load, s (CPU s) | Postgres HNSW build, s (CPU s) | load + build (docs/s) | hnswlib build, s (CPU s) | Postgres ÷ hnswlib CPU | server peak RSS (MiB) |
| --- | --- | --- | --- | --- | --- | --- | --- |
${loadRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

### Queries (k = 10)

| vectors | ef_search | hnswlib recall@10 | Postgres recall@10 | hnswlib p50 (ms) | Postgres p50 (ms) | Postgres p95 (ms) | Postgres ÷ hnswlib p50 | CPU per query, ms (hnswlib / Postgres client + server) | Postgres batched (q/s) | Postgres exact scan p50 (ms) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${queryRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

CPU seconds are on-CPU time (user + system) of the server process (and of this client for the load), read from /proc: this 2-core machine is shared, and its 1-minute load average was ${f(loadBefore, 1)} at the start of the run and ${f(loadavg()[0], 1)} at the end, so wall-clock figures include waits for a core and vary between runs; the CPU figures are the steadier comparison. Client peak RSS (this process, all sizes, including both in-process indexes): ${f(clientRss, 0)} MiB. Whole run: ${f(minutes, 1)} min.
`;
console.log(markdown);
if (!args.includes('--no-write')) {
  writeBenchSection('store-pgvector', { title: 'Postgres + pgvector store vs in-process hnswlib', command: 'npm run bench -w @quarry/store-pgvector', markdown });
}
