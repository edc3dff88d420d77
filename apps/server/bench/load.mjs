// Load test of the HTTP server on loopback: autocannon against `quarry-server` serving bm25
// and dense over the bundled SciFact, at 1, 16 and 64 concurrent clients, bounded in time.
// The in-process search rate of the same pipelines (no HTTP) is measured in the same run as
// the baseline. Runs against the built dist (`npm run build` first; `npm run bench` does it).
// Usage: node bench/load.mjs [--seconds 8] [--no-write]
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadSplit, openBeirDataset } from '@quarry/core';
import { buildOrLoadPipeline, defaultRegistry, resolvePipeline } from '@quarry/cli';
import { machineLine, table, writeBenchSection } from '../../../tools/bench-report.mjs';

const args = process.argv.slice(2);
const SECONDS = args.includes('--seconds') ? Number(args[args.indexOf('--seconds') + 1]) : 8;
const WRITE = !args.includes('--no-write');
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const scifact = join(root, '../../datasets/scifact');
const work = join(root, '.cache/bench');
const PIPELINES = ['bm25', 'dense'];
const CLIENTS = [1, 16, 64];
const K = 10;
const LIMITS = { concurrency: 8, queue: 256 };

// The config folder holds a link to SciFact: config paths may not leave their folder.
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
symlinkSync(scifact, join(work, 'scifact'));
const configFile = join(work, 'pipelines.json');
writeFileSync(configFile, JSON.stringify({ pipelines: Object.fromEntries(PIPELINES.map((p) => [p, { dataset: 'scifact', pipeline: p }])), server: { limits: LIMITS } }, null, 2));
process.env.QUARRY_CACHE_DIR ??= join(work, 'cache');

const dataset = openBeirDataset(scifact);
const { queries } = await loadSplit(dataset, 'test');
const texts = queries.map((q) => q.text);
const started = performance.now();
const loadAtStart = loadavg();

// 1. Baseline: the same pipelines in this process, one query at a time, no HTTP.
const registry = defaultRegistry();
const baseline = {};
for (const name of PIPELINES) {
  const { pipeline } = await buildOrLoadPipeline(dataset, await resolvePipeline(name, registry), registry, { useCache: true });
  for (const t of texts.slice(0, 50)) await pipeline.search(t, { k: K }); // warm up
  const times = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let rep = 0; rep < 3; rep++) {
    for (const t of texts) {
      const s = performance.now();
      await pipeline.search(t, { k: K });
      times.push(performance.now() - s);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  times.sort((a, b) => a - b);
  baseline[name] = { qps: times.length / seconds, p50: times[Math.floor(times.length * 0.5)], p99: times[Math.floor(times.length * 0.99)], cpu: (cpu.user + cpu.system) / 1000 / times.length };
  console.error(
    `in-process ${name}: ${baseline[name].qps.toFixed(0)} q/s, p50 ${baseline[name].p50.toFixed(2)} ms, p99 ${baseline[name].p99.toFixed(2)} ms, CPU ${baseline[name].cpu.toFixed(3)} ms/query`,
  );
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(logLevel) {
  const port = await freePort();
  const bin = join(root, 'dist/bin.js');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build -w @quarry/server)`);
  const child = spawn(process.execPath, [bin, '--config', configFile, '--port', String(port), '--log-level', logLevel], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start within 60 s');
}

/** CPU time (user + system, ms) the process has used: robust to other load on the machine, unlike throughput. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
}

function peakRssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

/** Runs autocannon; per-request latencies (ms, sub-millisecond) come from its 'response' events. */
async function load(url, pipeline, connections, duration) {
  let i = 0;
  const latencies = [];
  const instance = autocannon({
    url,
    connections,
    duration,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        path: '/search',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ pipeline, query: texts[i++ % texts.length], k: K }) }),
      },
    ],
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { ...result, ms: { p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? NaN } };
}

const runs = [];
async function measure(logLevel, plan) {
  const { child, url } = await startServer(logLevel);
  try {
    for (const [pipeline, clients] of plan) {
      await load(url, pipeline, clients, 2); // warm up at this concurrency
      const cpu0 = cpuMs(child.pid);
      const r = await load(url, pipeline, clients, SECONDS);
      const cpu = cpuMs(child.pid) - cpu0;
      const row = {
        pipeline,
        clients,
        logLevel,
        requests: r.requests.total,
        rps: r.requests.total / r.duration,
        p50: r.ms.p50,
        p99: r.ms.p99,
        max: r.ms.max,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
        cpuPerRequest: cpu / r.requests.total,
      };
      runs.push(row);
      console.error(`${logLevel} ${pipeline} x${clients}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, errors ${row.errors}, non-2xx ${row.non2xx}`);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const refused = [...metrics.matchAll(/^quarry_http_rejected_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
    return { peakRss: peakRssMiB(child.pid), refused };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

// The default log level (info): one JSON line per request, written to /dev/null.
const main = await measure(
  'info',
  PIPELINES.flatMap((p) => CLIENTS.map((c) => [p, c])),
);
const minutes = (performance.now() - started) / 60000;

const fmt = (x, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const rows = runs.map((r) => [
  r.pipeline,
  r.clients,
  fmt(r.requests),
  fmt(r.rps),
  fmt(r.p50, 2),
  fmt(r.p99, 2),
  fmt(r.max, 1),
  fmt(r.cpuPerRequest, 3),
  r.errors + r.non2xx,
  `${(r.cpuPerRequest / baseline[r.pipeline].cpu).toFixed(2)}×`,
  `${(r.rps / baseline[r.pipeline].qps).toFixed(2)}×`,
]);
const zero = runs.every((r) => r.errors === 0 && r.non2xx === 0) && main.refused === 0;
const markdown = `
\`quarry-server\` (Fastify 5) serving \`bm25\` and \`dense\` over the bundled SciFact (5,183 documents) on
127.0.0.1; [autocannon](https://github.com/mcollina/autocannon) in the bench process sends \`POST /search\`
with the 300 SciFact test queries in turn (\`k\` = ${K}, snippets and explanations on), ${SECONDS} s per row after
a 2 s warm-up at the same concurrency. The server logs at its default level (info: one JSON line per request,
to /dev/null). Server limits: concurrency ${LIMITS.concurrency}, queue ${LIMITS.queue} (so 64
clients stay below the bound of ${LIMITS.concurrency + LIMITS.queue}). Client and server share the machine's 2 cores,
so throughput is a floor for a server with a core of its own. Latency is per request as the client sees it.
"Server CPU ms/request" is the server process's user + system CPU time over the timed run divided by its
requests (from /proc; 10 ms ticks): it depends much less than req/s on what else the machine is doing. The
baseline below is the same pipeline searched in one process, one query at a time, no HTTP, measured in the same
run: "CPU vs in-process" divides the server's CPU per request by the baseline's CPU per query (what HTTP,
validation, JSON, snippets and logging add), "req/s vs in-process" divides the throughputs (noisy on a shared
machine: both sides are slowed by other jobs, by different amounts). Load average when this run started: ${loadAtStart.map((x) => x.toFixed(1)).join(', ')}
(1, 5, 15 min; other jobs shared the machine).

| pipeline | clients | requests | req/s | p50 ms | p99 ms | max ms | server CPU ms/request | errors + non-2xx | CPU vs in-process | req/s vs in-process |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

${zero ? 'Zero errors, zero non-2xx answers and zero 503s at every concurrency (all below the bound).' : '**Some requests failed; see the errors column.**'}

In-process baseline (same run, 3 passes over the 300 queries):

${table(
  ['pipeline', 'queries/s', 'p50 ms', 'p99 ms', 'CPU ms/query'],
  PIPELINES.map((p) => [p, fmt(baseline[p].qps), fmt(baseline[p].p50, 2), fmt(baseline[p].p99, 2), fmt(baseline[p].cpu, 3)]),
)}

Server peak RSS (VmHWM): ${fmt(main.peakRss, 0)} MiB with both pipelines loaded, after all runs. Whole bench: ${minutes.toFixed(1)} min.
`;

console.log(markdown);
if (WRITE) {
  writeBenchSection('server', { title: 'HTTP server under load (SciFact, loopback)', command: 'npm run bench -w @quarry/server', markdown });
  const readme = join(root, 'README.md');
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const re = /<!-- bench:server:start -->[\s\S]*?<!-- bench:server:end -->/;
    const stamped = `Command: \`npm run bench -w @quarry/server\`  \nMachine: ${machineLine()}  \nDate: ${new Date().toISOString().slice(0, 10)}\n\n${markdown.trim()}`;
    if (re.test(text)) writeFileSync(readme, text.replace(re, `<!-- bench:server:start -->\n${stamped}\n<!-- bench:server:end -->`));
  }
}
if (!zero) process.exitCode = 1;
