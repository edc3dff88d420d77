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
    shards: { type: 'string', default: '3' },
    'timing-trials': { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
  },
});
const lengths = values.lengths.split(',').map(Number);
const trials = values.trials;

const exec = promisify(execFile);
const shards = Number(values.shards);

/** Runs trials [0, n) of one length as `shards` parallel processes (disjoint trial ranges) and merges them. */
async function run(length, extra = [], n = Number(trials), nShards = shards) {
  const parts = [];
  const per = Math.ceil(n / nShards);
  for (let first = 0; first < n; first += per) {
    const count = Math.min(per, n - first);
    parts.push(
      exec(process.execPath, [join(here, 'run-length.mjs'), '--length', String(length), '--trials', String(count), '--first', String(first), '--seed', values.seed, ...extra], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      }).then(({ stdout }) => JSON.parse(stdout.trim().split('\n').at(-1))),
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
    failures: rs.flatMap((r) => r.failures ?? []),
  };
}

const pct = (c, n) => (n ? `${((100 * c) / n).toFixed(1)}% (${c}/${n})` : '–');
const timingTrials = Number(values['timing-trials']);
const rows = [];
for (const length of lengths) {
  const g = await run(length, ['--lookback', '0']);
  const g8 = await run(length, ['--lookback', '8']);
  const b = await run(length, ['--no-gca']);
  // Timing and memory: one process alone answering the first few trials (no parallel shards).
  const t = await run(length, ['--lookback', '0'], timingTrials, 1);
  console.error(
    `${length}: GCA ${pct(g.correct, g.trials)} (failed ${JSON.stringify(g.failures)}), lookback 8 ${pct(g8.correct, g8.trials)} (failed ${JSON.stringify(g8.failures)}); baseline ${pct(b.correct, b.trials)}; ${(t.seconds / t.trials).toFixed(3)} s/trial, peak ${t.peakRssMb.toFixed(0)} MiB`,
  );
  rows.push({ length, g, g8, b, t });
}
// Paged chunk memory at the longest length: resident memory stays bounded.
const pageDir = mkdtempSync(join(tmpdir(), 'drt-bench-page-'));
const longest = lengths.at(-1);
const paged = await run(longest, ['--lookback', '0', '--page', pageDir], timingTrials, 1);
const inMem = rows.at(-1).t;
rmSync(pageDir, { recursive: true, force: true });
const fits = rows.map(({ length, t }) => [length, t.seconds / t.trials, t.peakRssMb]);

/** Least-squares slope of log y on log x (1 = linear growth) and of y on x. */
function fit(xs, ys) {
  const n = xs.length;
  const lx = xs.map(Math.log),
    ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b) / n,
    my = ly.reduce((a, b) => a + b) / n;
  let sxy = 0,
    sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (lx[i] - mx) * (ly[i] - my);
    sxx += (lx[i] - mx) ** 2;
  }
  const ax = xs.reduce((a, b) => a + b) / n,
    ay = ys.reduce((a, b) => a + b) / n;
  let cxy = 0,
    cxx = 0;
  for (let i = 0; i < n; i++) {
    cxy += (xs[i] - ax) * (ys[i] - ay);
    cxx += (xs[i] - ax) ** 2;
  }
  const slope = cxy / cxx;
  return { logSlope: sxy / sxx, slope, intercept: ay - slope * ax };
}
const big = fits.filter(([l]) => l >= 16000);
const tFit = fit(
  big.map((f) => f[0]),
  big.map((f) => f[1]),
);
const mFit = fit(
  big.map((f) => f[0]),
  big.map((f) => f[2]),
);

const fmtLen = (l) => (l >= 1e6 ? `${l / 1e6}M` : l >= 1e3 ? `${l / 1e3}K` : String(l));
const markdown = [
  `Passkey retrieval (5-digit key at a uniformly random depth in i.i.d. filler, ${trials} seeded trials per length, seed ${values.seed}), bundled weights \`models/drt-passkey.json\` (trained on contexts of at most 4K tokens). Accuracy = all five digits exact; keys whose marker and digits span two chunks ("across") are also counted separately. "lookback 8" = the same weights with each retrieved chunk also exposing the previous chunk's last 8 states (inference only). "Baseline" = the same weights without GCA (local attention over the current and previous chunk on top of the 64-token sliding window). Accuracy trials run in ${shards} parallel processes over disjoint trial ranges.`,
  '',
  table(
    ['tokens', 'DRT (GCA)', 'key inside a chunk', 'key across chunks', 'GCA + lookback 8', 'across, lookback 8', 'baseline (no GCA)'],
    rows.map(({ length, g, g8, b }) => [
      fmtLen(length),
      pct(g.correct, g.trials),
      pct(g.inside.correct, g.inside.trials),
      pct(g.crossing.correct, g.crossing.trials),
      pct(g8.correct, g8.trials),
      pct(g8.crossing.correct, g8.crossing.trials),
      pct(b.correct, b.trials),
    ]),
  ),
  '',
  `Time and memory: one process alone answering the first ${timingTrials} trials of each length (GCA, chunk states in memory); peak RSS is that process's.`,
  '',
  table(
    ['tokens', 'seconds / trial', 'µs / token', 'peak RSS MiB'],
    rows.map(({ length, t }) => [fmtLen(length), (t.seconds / t.trials).toFixed(3), ((1e6 * t.seconds) / t.trials / length).toFixed(2), t.peakRssMb.toFixed(0)]),
  ),
  '',
  `Fitted on 16K and up: time per trial grows with log-log slope **${tFit.logSlope.toFixed(3)}** (1 = linear), ${(tFit.slope * 1e6).toFixed(2)} µs per token; peak RSS with log-log slope ${mFit.logSlope.toFixed(3)}, ${(mFit.slope * 1e6).toFixed(0)} MiB per 1M tokens (chunk states, 63 x 32 floats per chunk, in memory).`,
  '',
  `Paged chunk memory (\`--page DIR\`: chunk states in a file, landmarks in memory) at ${fmtLen(longest)} tokens, same ${paged.trials} trials: peak RSS ${paged.peakRssMb.toFixed(0)} MiB against ${inMem.peakRssMb.toFixed(0)} MiB in memory, ${(paged.seconds / paged.trials).toFixed(3)} against ${(inMem.seconds / inMem.trials).toFixed(3)} s per trial, accuracy ${pct(paged.correct, paged.trials)} (answers are identical either way; \`test/memory.test.ts\`).`,
  '',
  'The machine is shared with other jobs (2 cores); timings carry their load.',
].join('\n');
console.log(markdown);
if (!values['no-write']) {
  writeBenchSection('drt', { title: '@quarry/drt: passkey retrieval to 1M tokens', command: 'npm run bench -w @quarry/drt', markdown });
}
