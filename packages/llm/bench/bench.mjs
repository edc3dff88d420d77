// @quarry/llm client overhead against a loopback OpenAI-compatible server, side by side with
// plain fetch (the floor). Each variant runs in its own process (peak RSS is per process).
// Usage: npx nx run @quarry/llm:build && node bench/bench.mjs [--sizes 200,1000,5000] [--no-write]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const args = process.argv.slice(2);
const SIZES = (args.includes('--sizes') ? args[args.indexOf('--sizes') + 1] : '200,1000,5000').split(',').map(Number);
const WRITE = !args.includes('--no-write');
const here = (f) => fileURLToPath(new URL(f, import.meta.url));

const server = spawn(process.execPath, [here('./server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(String(d).trim())));
const rows = [];
try {
  for (const size of SIZES) {
    const cacheDir = mkdtempSync(join(tmpdir(), 'quarry-llm-bench-'));
    const run = (variant) => {
      const out = execFileSync(process.execPath, [here('./run.mjs'), variant, size, url, cacheDir], { encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').pop());
      console.error(`${size} ${variant}: ${JSON.stringify(r)}`);
      return r;
    };
    const floor = run('fetch');
    const client = run('client');
    const cold = run('cache-cold');
    const warm = run('cache-warm');
    rmSync(cacheDir, { recursive: true, force: true });
    for (const [name, r] of [
      ['plain fetch (floor)', floor],
      ['OpenAIClient, no cache', client],
      ['OpenAIClient, cache miss (writes)', cold],
      ['OpenAIClient, cache hit', warm],
    ]) {
      rows.push([size.toLocaleString('en-US'), name, r.rps.toFixed(0), `${(r.rps / floor.rps).toFixed(2)}×`, r.maxRssMB.toFixed(0)]);
    }
  }
} finally {
  server.kill('SIGTERM');
}
const markdown = `${table(['requests', 'variant', 'requests/s', 'vs fetch', 'peak RSS MB'], rows)}

Chat requests with a LameR-sized prompt (10 candidates of ~150 words) and n=5 answers of ~60 words,
8 in flight, against the loopback \`FakeOpenAIServer\` running in its own process, so the figures are
the client's own cost (request building, validation, parsing, accounting, cache I/O) and the
server's, not an LLM's: a real server takes 0.5-10 s per such request, thousands of times longer.
Cache hits skip the network entirely. Single runs on a shared 2-core machine: figures move by
±30 % between runs (e.g. a cache miss beating no cache at 200 requests is noise).
Cache misses fsync each entry (atomic write), which is what bounds them.`;
console.log(markdown);
if (WRITE) writeBenchSection('llm-client', { title: '@quarry/llm — client overhead (loopback server)', command: 'npm run bench -w @quarry/llm', markdown });
