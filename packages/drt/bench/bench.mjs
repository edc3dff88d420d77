// Passkey accuracy of the bundled DRT with its default configuration, per task variant (plain and
// the distractor families) and length, with GCA and without (the sliding-window baseline, same
// weights), then CPU time, peak RSS and chunk-memory bytes per token at each length, each in a
// fresh process. Writes the `drt` section of BENCHMARKS.md.
// Run: npm run bench -w @quarry/drt (after a build).
// Options: --trials N (plain task, every length; default 100) --variant-trials N (the other
// tasks; default = --trials) --long-trials N (the other tasks at the longest length; default =
// --variant-trials) --trials-at LENGTH:N,... --log FILE --from-log FILE (see below) --lengths 16000,128000,1000000 --tasks plain,decoys,digits,marked
// --seed S --shards N (processes at a time, default 4) --paged (also time paged chunk memory at
// the longest length over --timing-trials N trials) --weights FILE --no-write
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';
import { bundledWeightsPath, loadDrtWeights, PASSKEY_TASKS, TRAINED_DISTRACTORS } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '100' },
    'variant-trials': { type: 'string' },
    'long-trials': { type: 'string' },
    lengths: { type: 'string', default: '16000,128000,1000000' },
    tasks: { type: 'string', default: 'plain,decoys,digits,marked' },
    seed: { type: 'string', default: '1' },
    shards: { type: 'string', default: '4' },
    'timing-trials': { type: 'string', default: '3' },
    paged: { type: 'boolean', default: false },
    log: { type: 'string' },
    'trials-at': { type: 'string' },
    'from-log': { type: 'string' },
    weights: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const lengths = values.lengths.split(',').map(Number);
const tasks = values.tasks.split(',');
const trials = Number(values.trials);
const variantTrials = Number(values['variant-trials'] ?? values.trials);
const longTrials = Number(values['long-trials'] ?? variantTrials);
const weights = values.weights ?? bundledWeightsPath();
const model = loadDrtWeights(weights);
const trained = JSON.parse(readFileSync(weights, 'utf8')).training?.options;
const trainedTokens = trained ? trained.maxChunks * model.config.chunk + model.config.chunk - 1 : undefined;

const exec = promisify(execFile);
const shards = Number(values.shards);

// --log FILE appends every finished shard's result (one JSON line), so an interrupted run keeps
// what it measured; --from-log FILE builds the tables from such a log alone, running nothing
// (evaluations with missing shards report the trials that finished, with their counts).
const logged = new Map();
if (values['from-log']) {
  for (const line of readFileSync(values['from-log'], 'utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(line);
    logged.set(e.id, e.r);
  }
}

/** Runs one shard (trials [first, first + count) of one length, task and mode) in a fresh process. */
function shard(length, extra, first, count) {
  const id = [length, ...extra.filter((x) => !x.startsWith(tmpdir())), first, count].join(' ');
  if (values['from-log']) return Promise.resolve(logged.get(id) ?? null);
  return exec(
    process.execPath,
    [join(here, 'run-length.mjs'), '--length', String(length), '--trials', String(count), '--first', String(first), '--seed', values.seed, '--weights', weights, ...extra],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  ).then(({ stdout }) => {
    const r = JSON.parse(stdout.trim().split('\n').at(-1));
    if (values.log) appendFileSync(values.log, `${JSON.stringify({ id, r })}\n`);
    return r;
  });
}

/** At most `shards` processes at a time, whatever evaluation their trials belong to. */
const queue = [];
let running = 0;
function schedule(job) {
  return new Promise((resolve, reject) => {
    queue.push(() => job().then(resolve, reject));
    pump();
  });
}
function pump() {
  while (running < shards && queue.length) {
    running++;
    queue
      .shift()()
      .finally(() => {
        running--;
        pump();
      });
  }
}

/** Trials [0, n) of one length as shards of at most `per` trials (disjoint ranges), merged. */
async function run(length, extra, n, per) {
  const parts = [];
  for (let first = 0; first < n; first += per) parts.push(schedule(() => shard(length, extra, first, Math.min(per, n - first))));
  const rs = (await Promise.all(parts)).filter((r) => r !== null);
  const sum = (f) => rs.reduce((a, r) => a + f(r), 0);
  return {
    length,
    trials: sum((r) => r.trials),
    correct: sum((r) => r.correct),
    inside: { trials: sum((r) => r.inside.trials), correct: sum((r) => r.inside.correct) },
    crossing: { trials: sum((r) => r.crossing.trials), correct: sum((r) => r.crossing.correct) },
    copied: sum((r) => r.copiedDistractor),
    // Summed over shards = one process answering every trial.
    seconds: sum((r) => r.seconds),
    cpuSeconds: sum((r) => r.cpuSeconds),
    memoryBytes: Math.max(0, ...rs.map((r) => r.memoryBytes)),
    peakRssMb: Math.max(0, ...rs.map((r) => r.peakRssMb)),
    startRssMb: Math.min(...rs.map((r) => r.startRssMb)),
    failures: rs.flatMap((r) => r.failures ?? []).sort((x, y) => x - y),
  };
}

const pct = (c, n) => (n ? `${((100 * c) / n).toFixed(1)}% (${c}/${n})` : '–');
const fmtLen = (l) => (l >= 1e6 ? `${l / 1e6}M` : l >= 1e3 ? `${l / 1e3}K` : String(l));
const describe = (task) => {
  const t = PASSKEY_TASKS[task];
  const parts = [];
  if (t.decoys) parts.push(`${t.decoys} unmarked 5-digit decoy runs`);
  if (t.digitRate) parts.push(`${t.digitRate * 100}% of filler tokens are random digits`);
  if (t.markedDecoys) parts.push(`${t.markedDecoys} decoy runs after a similar-but-wrong marker`);
  return parts.length ? parts.join(', ') : 'no distractors';
};
const kind = (task) => (task === 'plain' ? 'trained' : TRAINED_DISTRACTORS.includes(task) ? 'seen family' : '**held out**');

// One trial per shard at 1M tokens (about 6-11 CPU s), more per shard at shorter lengths.
const perShard = (length) => Math.max(1, Math.round(1e6 / length));
// --trials-at 128000:20,... overrides --trials and --variant-trials at those lengths.
const trialsAt = new Map(
  (values['trials-at'] ?? '')
    .split(',')
    .filter(Boolean)
    .map((x) => x.split(':').map(Number)),
);
const jobs = [];
// Shortest first: on a loaded machine an interrupted run (see --log) still has every short length.
for (const length of lengths) {
  // At the longest length the plain task goes last, so that an interrupted run has every variant.
  const order = length === lengths.at(-1) ? [...tasks.filter((t) => t !== 'plain'), ...tasks.filter((t) => t === 'plain')] : tasks;
  for (const task of order) {
    const n = trialsAt.get(length) ?? (task === 'plain' ? trials : length === lengths.at(-1) ? longTrials : variantTrials);
    jobs.push(
      Promise.all([run(length, ['--task', task], n, perShard(length)), run(length, ['--task', task, '--no-gca'], n, n)]).then(([g, b]) => {
        console.error(
          `${length} ${task}: GCA ${pct(g.correct, g.trials)} (failed ${JSON.stringify(g.failures)}, copied a decoy ${g.copied}); baseline ${pct(b.correct, b.trials)}; ${(g.cpuSeconds / g.trials).toFixed(3)} CPU s/trial`,
        );
        return { length, task, g, b };
      }),
    );
  }
}
const rows = (await Promise.all(jobs)).sort((x, y) => x.length - y.length || tasks.indexOf(x.task) - tasks.indexOf(y.task));
// Time and memory from the plain GCA runs themselves: CPU time per trial of the shard processes
// (each its own process), the largest chunk memory and peak RSS of any one of them.
const timing = rows.filter((r) => r.task === 'plain').map(({ length, g }) => ({ length, t: g }));
const longest = lengths.at(-1);
let paged = null;
if (values.paged) {
  const pageDir = mkdtempSync(join(tmpdir(), 'drt-bench-page-'));
  paged = await run(longest, ['--task', 'plain', '--page', pageDir], Number(values['timing-trials']), Number(values['timing-trials']));
  rmSync(pageDir, { recursive: true, force: true });
}
const inMem = timing.at(-1).t;

/** Least-squares slope of log y on log x (1 = linear growth). */
function logSlope(xs, ys) {
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b) / lx.length;
  const my = ly.reduce((a, b) => a + b) / ly.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < lx.length; i++) {
    sxy += (lx[i] - mx) * (ly[i] - my);
    sxx += (lx[i] - mx) ** 2;
  }
  return sxy / sxx;
}
const cpuSlope = logSlope(
  timing.map((x) => x.length),
  timing.map((x) => x.t.cpuSeconds / x.t.trials),
);
const rssGrowth = timing.map((x) => (x.t.peakRssMb - x.t.startRssMb) * 1048576);
const c = model.config;
const markdown = [
  `Passkey retrieval with the bundled \`models/drt-passkey.json\` in its **default configuration** (no flags: retrieved chunks expose the previous chunk's last ${c.lookback} states and the next chunk's first ${c.overlap}, as trained). 5-digit key after the key marker at a uniformly random depth in i.i.d. filler; accuracy = all five digits exact; "across" = keys whose marker and digits span two chunks, counted separately. Seed ${values.seed}; trial i is the same key at the same depth in every variant (paired). Trained on prompts of at most ${trainedTokens ?? '?'} tokens (see the package README) with unmarked decoy runs and filler digits; decoys after the similar-but-wrong marker were never in training. "Baseline" = the same weights without GCA (local attention over the current and previous chunk on top of the ${c.window}-token sliding window). "Copied a decoy" = wrong answers equal to a decoy run's digits. Trials run in up to ${shards} processes at a time over disjoint trial ranges.`,
  '',
  table(
    ['variant', 'distractors', 'in training', 'tokens', 'DRT (GCA)', 'key inside a chunk', 'key across chunks', 'copied a decoy', 'baseline (no GCA)'],
    rows.map(({ length, task, g, b }) => [
      task,
      describe(task),
      kind(task),
      fmtLen(length),
      pct(g.correct, g.trials),
      pct(g.inside.correct, g.inside.trials),
      pct(g.crossing.correct, g.crossing.trials),
      String(g.copied),
      pct(b.correct, b.trials),
    ]),
  ),
  '',
  `Time and memory of the plain GCA evaluations above (chunk states in memory), per trial, each shard a separate process answering a few trials in a row: CPU seconds = user + system (\`process.cpuUsage\`, summed over the shards), which the machine's load inflates less than wall time; chunk memory = bytes the chunk memory holds (states + landmarks) at the end of one trial; peak RSS = the largest of any shard process; RSS growth = that minus the RSS after loading the model.`,
  '',
  table(
    ['tokens', 'CPU s / trial', 'CPU µs / token', 'chunk memory bytes / token', 'peak RSS MiB', 'RSS growth bytes / token'],
    timing.map(({ length, t }, i) => [
      fmtLen(length),
      (t.cpuSeconds / t.trials).toFixed(3),
      ((1e6 * t.cpuSeconds) / t.trials / length).toFixed(2),
      (t.memoryBytes / length).toFixed(1),
      t.peakRssMb.toFixed(0),
      (rssGrowth[i] / length).toFixed(0),
    ]),
  ),
  '',
  `CPU time per trial grows with log-log slope **${cpuSlope.toFixed(3)}** over ${timing.map((x) => fmtLen(x.length)).join(', ')} (1 = linear).`,
  '',
  ...(paged
    ? [
        `Paged chunk memory (\`--page DIR\`: chunk states in a file, landmarks in memory) at ${fmtLen(longest)} tokens, ${paged.trials} trials in one process: peak RSS ${paged.peakRssMb.toFixed(0)} MiB against ${inMem.peakRssMb.toFixed(0)} MiB in memory, chunk memory ${(paged.memoryBytes / longest).toFixed(1)} against ${(inMem.memoryBytes / longest).toFixed(1)} bytes per token, ${(paged.cpuSeconds / paged.trials).toFixed(3)} against ${(inMem.cpuSeconds / inMem.trials).toFixed(3)} CPU s per trial, accuracy ${pct(paged.correct, paged.trials)}.`,
        '',
      ]
    : []),
  'The machine is shared with other jobs (2 cores); timings carry their load.',
].join('\n');
console.log(markdown);
if (!values['no-write']) {
  writeBenchSection('drt', {
    title: '@quarry/drt: passkey retrieval to 1M tokens, with distractors',
    command: `npm run bench -w @quarry/drt${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    markdown,
  });
}
