// Memory under maximal requests: `quarry-server` serving bm25 over the bundled SciFact on 127.0.0.1,
// hit by 16 concurrent requests each as large as the default work budget allows (server.limits
// maxBatch, maxHits, maxSnippetChars), in two shapes and a few rounds. The server's peak RSS
// (VmHWM, reset after start-up through /proc/PID/clear_refs so it measures the load alone) must
// stay under BOUND_MIB, or the bench exits 1. Also checks that the issue's request
// (100 queries x k 1000 x snippet 10000) is refused with 400 BUDGET_EXCEEDED.
// Runs against the built dist (`npm run build -w @quarry/server` first).
// Usage: node bench/budget.mjs [--rounds 3] [--no-write]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadSplit, openBeirDataset } from '@quarry/core';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const args = process.argv.slice(2);
const ROUNDS = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
const WRITE = !args.includes('--no-write');
const CLIENTS = 16;
/** The bound this bench holds the server to (MiB of peak RSS under the load, start-up excluded). */
const BOUND_MIB = 512;
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const scifact = join(root, '../../datasets/scifact');
const work = join(root, '.cache/bench-budget');

// The server's default limits: the bench asks for exactly what they allow.
const DEFAULTS = { maxBatch: 100, maxHits: 20_000, maxSnippetChars: 2_000_000, maxResponseBytes: 32 * 2 ** 20, timeoutMs: 10_000, concurrency: 8, queue: 256 };
const SHAPES = [
  { name: 'wide', queries: DEFAULTS.maxBatch, k: DEFAULTS.maxHits / DEFAULTS.maxBatch, snippet: DEFAULTS.maxSnippetChars / DEFAULTS.maxHits, explain: true },
  { name: 'deep', queries: DEFAULTS.maxHits / 1000, k: 1000, snippet: DEFAULTS.maxSnippetChars / DEFAULTS.maxHits, explain: true },
];

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
symlinkSync(scifact, join(work, 'scifact'));
const configFile = join(work, 'pipelines.json');
writeFileSync(configFile, JSON.stringify({ pipelines: { bm25: { dataset: 'scifact', pipeline: 'bm25' } } }, null, 2));
const env = { ...process.env, QUARRY_CACHE_DIR: process.env.QUARRY_CACHE_DIR ?? join(work, 'cache') };

const { queries } = await loadSplit(openBeirDataset(scifact), 'test');
const texts = queries.map((q) => q.text);
const loadAtStart = loadavg();
const started = performance.now();

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const status = (pid) => readFileSync(`/proc/${pid}/status`, 'utf8');
const kib = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status(pid))[1]);

const bin = join(root, 'dist/bin.js');
if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build -w @quarry/server)`);
const port = await freePort();
const child = spawn(process.execPath, [bin, '--config', configFile, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'], env });
// The server's own request log: status and ms from request start to the last byte handed to the socket.
const served = [];
createInterface({ input: child.stdout }).on('line', (line) => {
  try {
    const entry = JSON.parse(line);
    if (entry.msg === 'request' && entry.route === '/search/batch') served.push(entry);
  } catch {
    // not a log line
  }
});
const url = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    if (i === 1200) throw new Error('server did not start within 120 s');
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const startupPeak = kib(child.pid, 'VmHWM') / 1024;
  const idle = kib(child.pid, 'VmRSS') / 1024;

  // The issue's request must be refused before any work.
  const issue = await fetch(`${url}/search/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pipeline: 'bm25', queries: texts.slice(0, 100), k: 1000, snippet: 10_000 }),
  });
  const issueBody = await issue.json();
  if (issue.status !== 400 || issueBody.error.code !== 'BUDGET_EXCEEDED') throw new Error(`the issue's request got ${issue.status} ${JSON.stringify(issueBody).slice(0, 200)}`);

  // Measure the load alone: "5" resets VmHWM to the current RSS.
  writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
  let sampledPeak = 0;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, kib(child.pid, 'VmRSS') / 1024)), 20);

  const rows = [];
  let q = 0;
  let logged = served.length;
  for (const shape of SHAPES) {
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const results = await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          const body = JSON.stringify({
            pipeline: 'bm25',
            queries: Array.from({ length: shape.queries }, () => texts[q++ % texts.length]),
            k: shape.k,
            snippet: shape.snippet,
            explain: shape.explain,
          });
          const s = performance.now();
          try {
            const response = await fetch(`${url}/search/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(60_000) });
            let bytes = 0;
            for await (const chunk of response.body) bytes += chunk.length;
            return { status: response.status, bytes, ms: performance.now() - s, requestBytes: body.length };
          } catch (error) {
            return { status: `error (${error.name})`, bytes: 0, ms: performance.now() - s, requestBytes: body.length };
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      for (let i = 0; i < 100 && served.length < logged + CLIENTS; i++) await new Promise((r) => setTimeout(r, 20));
      const server = served.slice(logged, logged + CLIENTS);
      logged += CLIENTS;
      const statuses = {};
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      const ok = results.filter((r) => r.status === 200);
      const row = {
        shape: shape.name,
        round: round + 1,
        statuses: Object.entries(statuses)
          .map(([s, n]) => `${n} × ${s}`)
          .join(', '),
        responseMiB: ok.length ? Math.max(...ok.map((r) => r.bytes)) / 2 ** 20 : 0,
        totalMiB: results.reduce((s, r) => s + r.bytes, 0) / 2 ** 20,
        requestKiB: Math.max(...results.map((r) => r.requestBytes)) / 1024,
        maxMs: Math.max(...results.map((r) => r.ms)),
        serverMaxMs: Math.max(...server.map((e) => e.ms)),
        serverStatuses: [...new Set(server.map((e) => e.status))].join(', '),
        seconds,
        hwm: kib(child.pid, 'VmHWM') / 1024,
      };
      rows.push(row);
      console.error(
        `${shape.name} round ${row.round}: ${row.statuses}; largest response ${row.responseMiB.toFixed(1)} MiB; slowest ${row.maxMs.toFixed(0)} ms (server ${row.serverMaxMs} ms, ${row.serverStatuses}); server VmHWM ${row.hwm.toFixed(0)} MiB`,
      );
    }
  }
  clearInterval(sampler);
  const loadPeak = kib(child.pid, 'VmHWM') / 1024;
  const minutes = (performance.now() - started) / 60000;
  const within = loadPeak <= BOUND_MIB;
  const fmt = (x, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

  const markdown = `
\`quarry-server\` serving \`bm25\` over the bundled SciFact (5,183 documents) on 127.0.0.1 with its default
limits (concurrency ${DEFAULTS.concurrency}, queue ${DEFAULTS.queue}, deadline ${DEFAULTS.timeoutMs / 1000} s, maxBatch ${DEFAULTS.maxBatch},
maxHits ${fmt(DEFAULTS.maxHits)} = queries × k, maxSnippetChars ${fmt(DEFAULTS.maxSnippetChars)} = queries × k × snippet,
maxResponseBytes ${DEFAULTS.maxResponseBytes / 2 ** 20} MiB). ${CLIENTS} clients at once, each sending the largest \`POST /search/batch\` the
budget allows, ${ROUNDS} rounds per shape: *wide* = ${SHAPES[0].queries} queries × k ${SHAPES[0].k} × snippet ${SHAPES[0].snippet}, *deep* =
${SHAPES[1].queries} queries × k ${SHAPES[1].k} × snippet ${SHAPES[1].snippet}, both with explanations (SciFact test queries in turn).
Responses are streamed and read in full by the client. "Slowest ms (server)" is the server's own log (request start to
the last byte handed to the socket; the deadline bounds it). The client's figure is larger: it also counts the time
before the busy server reads the request and the reading of what the kernel's loopback buffers held, in a client
process that shares the 2 cores. The issue's request (100 queries × k 1000 × snippet 10,000,
which made a 168 MB answer before the budget) was answered 400 BUDGET_EXCEEDED.

Peak RSS is the server process's VmHWM, reset after start-up (\`/proc/PID/clear_refs\`), so it is the load's peak
alone. Client and server share the machine's 2 cores. Load average when this run started: ${loadAtStart.map((x) => x.toFixed(1)).join(', ')}.

${table(
  ['shape', 'round', 'answers', 'largest response MiB', 'all responses MiB', 'request KiB', 'slowest ms (server)', 'slowest ms (client)', 'round s', 'server VmHWM MiB'],
  rows.map((r) => [r.shape, r.round, r.statuses, fmt(r.responseMiB, 1), fmt(r.totalMiB, 1), fmt(r.requestKiB, 1), fmt(r.serverMaxMs), fmt(r.maxMs), fmt(r.seconds, 1), fmt(r.hwm)]),
)}

Server RSS after start-up (pipeline loaded, idle): ${fmt(idle)} MiB (start-up peak ${fmt(startupPeak)} MiB).
**Peak RSS under ${CLIENTS} concurrent maximal requests: ${fmt(loadPeak)} MiB** (sampled every 20 ms: ${fmt(sampledPeak)} MiB);
the bound this bench holds it to is ${BOUND_MIB} MiB: ${within ? 'within' : '**exceeded**'}. Whole bench: ${minutes.toFixed(1)} min.
`;
  console.log(markdown);
  if (WRITE) writeBenchSection('server-budget', { title: 'HTTP server: peak memory under maximal requests (SciFact, loopback)', command: 'npm run bench:budget -w @quarry/server', markdown });
  if (!within || rows.some((r) => r.statuses !== `${CLIENTS} × 200`)) process.exitCode = 1;
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
}
