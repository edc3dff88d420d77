#!/usr/bin/env node
// Quarry's OnnxEncoder beside onnxruntime-python + tokenizers and sentence-transformers on the same
// bge-small-shaped export (issue #20 item 5). Optional; never part of the tests.
//
//   /tmp/refvenv/bin/python tools/reference/bench_parity.py --out /tmp/quarry-parity --docs 256 --threads 2   (builds the export)
//   node packages/encoders/bench/parity.mjs --dir /tmp/quarry-parity --python /tmp/refvenv/bin/python [--no-write]
//
// With --python, the Python stacks are timed again (on the export already built) in the same run, just
// before Quarry. Speed is compared as documents per CPU-second (user + system time of every thread of
// each process, onnxruntime's pool included), which a busy shared machine disturbs far less than wall time.
// Same documents (SciFact title + abstract), same thread count, length-sorted batches of 32, 512 and
// 256-token caps, fp32 and dynamic int8. Writes the BENCHMARKS.md section `encoders-parity`.
// --rounds N alternates Python and Quarry N times and reports the median of each round's ratio with
// its range: on a loaded machine one round's ratio moves by several per cent, and so does the load
// between the two halves of a round.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { OnnxEncoder } from '@quarry/encoders';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';
import { PKG } from './scifact.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const dir = arg('dir', '/tmp/quarry-parity');
const write = !process.argv.includes('--no-write');
const python = arg('python', undefined);
const rounds = Number(arg('rounds', '1'));
if (rounds > 1 && !python) throw new Error('--rounds needs --python (each round times the Python stacks again)');

function timePython() {
  const script = join(PKG, '..', '..', 'tools', 'reference', 'bench_parity.py');
  const r = spawnSync(python, [script, '--out', dir, '--reuse', ...process.argv.slice(2).filter((a, i, all) => ['--docs', '--threads'].includes(a) || ['--docs', '--threads'].includes(all[i - 1]))], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`${python} ${script} failed (exit ${r.status})`);
  return JSON.parse(readFileSync(join(dir, 'python.json'), 'utf8'));
}

const model = join(dir, 'model');
const vectors = {};
async function timeQuarry(texts, threads) {
  const runs = [];
  for (const maxLength of [512, 256]) {
    for (const quantized of [false, true]) {
      const enc = await OnnxEncoder.load(model, { threads, batchSize: 32, maxLength, quantized });
      await enc.encode(texts.slice(0, 8), { role: 'document' });
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const m = await enc.encode(texts, { role: 'document' });
      const c = process.cpuUsage(c0);
      const secs = (performance.now() - t0) / 1000;
      const cpuSeconds = (c.user + c.system) / 1e6;
      vectors[`${maxLength}/${quantized}`] = m;
      runs.push({
        stack: 'Quarry OnnxEncoder (Node)',
        precision: quantized ? 'int8' : 'fp32',
        maxLength,
        seconds: secs,
        cpuSeconds,
        docsPerSec: texts.length / secs,
        docsPerCpuSec: texts.length / cpuSeconds,
      });
      console.log(runs.at(-1));
      await enc.release();
    }
  }
  return runs;
}

const lines = gunzipSync(readFileSync(join(PKG, '..', '..', 'datasets', 'scifact', 'corpus.jsonl.gz')))
  .toString('utf8')
  .split('\n');
const timed = [];
let py;
for (let round = 0; round < rounds; round++) {
  py = python ? timePython() : JSON.parse(readFileSync(join(dir, 'python.json'), 'utf8'));
  const texts = lines
    .slice(0, py.docs)
    .map((l) => JSON.parse(l))
    .map((d) => `${d.title ?? ''} ${d.text}`.trim());
  timed.push({ py: py.runs, quarry: await timeQuarry(texts, py.threads) });
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** One row per stack and setting: the median over rounds (a single round: its own figures). */
const merge = (pick) => {
  const first = pick(timed[0]);
  return first.map((r, i) => ({ ...r, docsPerCpuSec: median(timed.map((x) => pick(x)[i].docsPerCpuSec)), docsPerSec: median(timed.map((x) => pick(x)[i].docsPerSec)) }));
};
const runs = merge((x) => x.quarry);
py = { ...py, runs: merge((x) => x.py) };
/** Quarry / best Python per CPU-second, per round: [median, min, max]. */
const roundRatios = (maxLength, precision) => {
  const ratios = timed.map((x) => {
    const mine = x.quarry.find((r) => r.maxLength === maxLength && r.precision === precision);
    const best = Math.max(...x.py.filter((r) => r.maxLength === maxLength && r.precision === precision).map((r) => r.docsPerCpuSec));
    return mine.docsPerCpuSec / best;
  });
  return [median(ratios), Math.min(...ratios), Math.max(...ratios)];
};

const all = [...runs, ...py.runs];
const rows = [];
for (const maxLength of [512, 256]) {
  for (const precision of ['fp32', 'int8']) {
    const mine = runs.find((r) => r.maxLength === maxLength && r.precision === precision);
    const others = py.runs.filter((r) => r.maxLength === maxLength && r.precision === precision);
    const bestWall = Math.max(...others.map((r) => r.docsPerSec));
    for (const r of all.filter((x) => x.maxLength === maxLength && x.precision === precision)) {
      const [med, lo, hi] = roundRatios(maxLength, precision);
      const spread = rounds > 1 ? ` (rounds ${lo.toFixed(2)}-${hi.toFixed(2)})` : '';
      const ratio = r === mine ? `${med.toFixed(2)}x${spread}, wall ${(mine.docsPerSec / bestWall).toFixed(2)}x` : '';
      rows.push([maxLength, precision, r.stack, r.docsPerCpuSec.toFixed(2), r.docsPerSec.toFixed(1), ratio]);
    }
  }
}
const cos = (a, b, i) => {
  let s = 0;
  for (let j = 0; j < a.cols; j++) s += a.data[i * a.cols + j] * b.data[i * b.cols + j];
  return s;
};
const quality = [512, 256].map((L) => {
  const f = vectors[`${L}/false`];
  const q = vectors[`${L}/true`];
  let min = 1;
  for (let i = 0; i < f.rows; i++) min = Math.min(min, cos(f, q, i));
  return [L, min.toFixed(5), py.int8[String(L)].minCosine.toFixed(5), py.int8[String(L)].maxAbsOrtVsSt.toExponential(1)];
});

const markdown = `bge-small-shaped random-weight BERT (hidden 384, 12 layers, bert-base-uncased vocabulary, CLS + Normalize),
${py.docs} SciFact documents, ${py.threads} threads for every stack, batches of 32 sorted by length; end to end (text in,
normalised vectors out). Built and exported by \`tools/reference/bench_parity.py\` (torch.onnx, dynamic int8 by
onnxruntime.quantization). Python stacks timed in the same run, just before Quarry, ${rounds} round${rounds > 1 ? 's' : ''} (Python, then
Quarry, alternating; figures are medians over rounds, the ratio is the median of each round's ratio). Documents per
CPU-second (user + system time of all threads of each process) is the comparison; wall-clock docs/s beside it. Higher is better:

${table(['max tokens', 'precision', 'stack', 'docs / CPU-s', 'docs/s (wall)', 'Quarry vs best Python, per CPU-s'], rows)}

int8 quality (cosine of each document's int8 vector to its fp32 vector, lowest over the documents):

${table(['max tokens', 'Quarry int8 vs fp32 (min cos)', 'onnxruntime-python int8 vs fp32 (min cos)', 'onnxruntime-python fp32 vs sentence-transformers (max abs)'], quality)}

Random weights: the int8 figures show the quantisation error of this shape, not retrieval quality of a trained model.
Exactness against sentence-transformers is the tests' job (\`test/reference-models.test.ts\`), not this bench's.
${process.env.BENCH_NOTE ?? ''}`;
console.log(markdown);
if (write) {
  writeBenchSection('encoders-parity', {
    title: '@quarry/encoders — speed beside onnxruntime-python and sentence-transformers',
    command: `python tools/reference/bench_parity.py --out ${dir} && node packages/encoders/bench/parity.mjs ${process.argv.slice(2).join(' ')}`,
    markdown,
  });
}
