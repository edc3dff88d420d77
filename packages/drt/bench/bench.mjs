// Passkey accuracy, time and peak memory of the bundled DRT at 1K..1M tokens, with GCA and
// without (the sliding-window baseline, same weights), each length in a fresh process.
// Writes the `drt` section of BENCHMARKS.md. Run: npm run bench -w @quarry/drt (after a build).
// Options: --trials N (default 50) --lengths 1000,4000,... --seed S --no-write
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '50' },
    lengths: { type: 'string', default: '1000,4000,16000,64000,256000,1000000' },
    seed: { type: 'string', default: '1' },
    'page-trials': { type: 'string', default: '10' },
    shards: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
  },
});
const lengths = values.lengths.split(',').map(Number);
const trials = values.trials;

const exec = promisify(execFile);
const shards = Number(values.shards);

/** Runs trials [0, n) of one length as `shards` parallel processes (disjoint trial ranges) and merges them. */
async function run(length, extra = [], n = Number(trials)) {
  const parts = [];
  const per = Math.ceil(n / shards);
  for (let first = 0; first < n; first += per) {
    const count = Math.min(per, n - first);
    parts.push(
      exec(process.execPath, [join(here, 'run-length.mjs'), '--length', String(length), '--trials', String(count), '--first', String(first), '--seed', values.seed, ...extra], { encoding: 'utf8', maxBuffer: 1 << 24 })
        .then(({ stdout }) => JSON.parse(stdout.trim().split('\n').at(-1))),
    );
  }
  const rs = await Promise.all(parts);
  const sum = (f) => rs.reduce((a, r) => a + f(r), 0);
  return {
    length,
    trials: sum((r) => r.trials),
    correct: sum((r) => r.correct),
    inside: { trials: sum((r) => r.inside.trials), correct: sum((r) => r.inside.correct) },
    crossing: { trials: sum((r) => r.crossing.trials), correct: sum((r) => r.crossing.correct) },
    // Seconds summed over shards = time of one process answering every trial.
    seconds: sum((r) => r.seconds),
    peakRssMb: Math.max(...rs.map((r) => r.peakRssMb)),
  };
}

const pct = (c, n) => (n ? `${((100 * c) / n).toFixed(1)}% (${c}/${n})` : '–');
const rows = [];
const fits = [];
for (const length of lengths) {
  const g = await run(length);
  const b = await run(length, ['--no-gca']);
  console.error(`${length}: GCA ${pct(g.correct, g.trials)} in ${g.seconds.toFixed(1)} s, peak ${g.peakRssMb.toFixed(0)} MiB; baseline ${pct(b.correct, b.trials)}`);
  rows.push({ length, g, b });
  fits.push([length, g.seconds / g.trials, g.peakRssMb]);
}
// Paged chunk memory at the longest length: resident memory stays bounded.
const pageDir = mkdtempSync(join(tmpdir(), 'drt-bench-page-'));
const longest = lengths.at(-1);
const paged = await run(longest, ['--page', pageDir], Number(values['page-trials']));
const inMem = rows.at(-1).g;
rmSync(pageDir, { recursive: true, force: true });

/** Least-squares slope of log y on log x (1 = linear growth) and of y on x. */
function fit(xs, ys) {
  const n = xs.length;
  const lx = xs.map(Math.log), ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b) / n, my = ly.reduce((a, b) => a + b) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) { sxy += (lx[i] - mx) * (ly[i] - my); sxx += (lx[i] - mx) ** 2; }
  const ax = xs.reduce((a, b) => a + b) / n, ay = ys.reduce((a, b) => a + b) / n;
  let cxy = 0, cxx = 0;
  for (let i = 0; i < n; i++) { cxy += (xs[i] - ax) * (ys[i] - ay); cxx += (xs[i] - ax) ** 2; }
  const slope = cxy / cxx;
  return { logSlope: sxy / sxx, slope, intercept: ay - slope * ax };
}
const big = fits.filter(([l]) => l >= 16000);
const tFit = fit(big.map((f) => f[0]), big.map((f) => f[1]));
const mFit = fit(big.map((f) => f[0]), big.map((f) => f[2]));

const fmtLen = (l) => (l >= 1e6 ? `${l / 1e6}M` : l >= 1e3 ? `${l / 1e3}K` : String(l));
const markdown = [
  `Passkey retrieval (5-digit key at a uniformly random depth in i.i.d. filler, ${trials} seeded trials per length, seed ${values.seed}), bundled weights \`models/drt-passkey.json\` (trained on contexts of at most 4K tokens). Accuracy = all five digits exact. "Baseline" = the same weights without GCA (local attention over the current and previous chunk on top of the 64-token sliding window). Each length runs in fresh processes (trials split into disjoint ranges over ${shards} parallel processes); seconds / trial is one process's time per trial (shard times summed / trials), peak RSS the largest shard's.`,
  '',
  table(
    ['tokens', 'DRT (GCA)', 'key inside a chunk', 'key across chunks', 'baseline (no GCA)', 'seconds / trial', 'peak RSS MiB'],
    rows.map(({ length, g, b }) => [fmtLen(length), pct(g.correct, g.trials), pct(g.inside.correct, g.inside.trials), pct(g.crossing.correct, g.crossing.trials), pct(b.correct, b.trials), (g.seconds / g.trials).toFixed(3), g.peakRssMb.toFixed(0)]),
  ),
  '',
  `Time per trial against length (16K and up): log-log slope **${tFit.logSlope.toFixed(3)}** (1 = linear), ${(tFit.slope * 1e6).toFixed(2)} µs per token. Peak RSS: log-log slope ${mFit.logSlope.toFixed(3)}, ${(mFit.slope * 1e6).toFixed(0)} MiB per 1M tokens (chunk states in memory).`,
  '',
  `Paged chunk memory (\`--page DIR\`: chunk states in a file, landmarks in memory) at ${fmtLen(longest)} tokens, first ${paged.trials} trials: peak RSS ${paged.peakRssMb.toFixed(0)} MiB against ${inMem.peakRssMb.toFixed(0)} MiB with states in memory (table above), ${(paged.seconds / paged.trials).toFixed(3)} against ${(inMem.seconds / inMem.trials).toFixed(3)} s per trial, accuracy ${pct(paged.correct, paged.trials)} (answers are identical either way; \`test/memory.test.ts\`).`,
].join('\n');
console.log(markdown);
if (!values['no-write']) {
  writeBenchSection('drt', { title: '@quarry/drt: passkey retrieval to 1M tokens', command: 'npm run bench -w @quarry/drt', markdown });
}
