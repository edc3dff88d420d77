// FM-index benchmark at three corpus sizes (each in its own process), written to BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table, writeBenchSection } from '../../../tools/bench-report.mjs';
import { scifactTokenDocs } from './corpus.mjs';

const here = dirname(fileURLToPath(import.meta.url));
await scifactTokenDocs(); // tokenize once, cached for the children
const scales = (process.env.SCALES ?? '0.25,1,4').split(',').map(Number);
const rows = [];
for (const s of scales) {
  const out = execFileSync(process.execPath, [join(here, 'run-size.mjs'), String(s)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const r = JSON.parse(out.trim().split('\n').pop());
  console.log(r);
  rows.push(r);
}
const f = (x, d = 2) => (x === undefined ? 'n/a' : x.toFixed(d));
const mb = (b) => (b / 2 ** 20).toFixed(1);
const md = [
  'FM-index over BERT-uncased token ids of SciFact abstracts (0.25x = the first quarter of the documents; 4x = SciFact plus three',
  'shuffled copies, each document cyclically rotated by a seeded random offset). Patterns: 2,000 random 16-token windows of the corpus',
  '(each occurs at least once). Latencies are means per pattern of on-CPU time (user + system, one thread): this 2-core machine is',
  `shared and was oversubscribed during the run (1-minute load average ${rows.map((r) => r.load.toFixed(1)).join(' / ')}), so wall-clock times mostly measure the wait for a core. Build times (FM-index, naive suffix array, SA-IS alone) likewise are CPU seconds. "extend 1 token" is one decoder step: the 9th token added to the range of an 8-token prefix. The naive suffix array is a comparison sort of suffix`,
  'positions searched by binary search (sizes above 2M tokens skipped: its O(n log n · LCP) sort takes minutes); the plain scan tests every',
  'start position of every document. Raw = the token ids as Uint16 (BERT vocabulary 30,522 < 65,536); the goal is index <= 1.5x raw.',
  '',
  table(
    [
      'corpus',
      'tokens',
      'build (s)',
      'build Mtok/s',
      'index MB',
      'index / raw u16',
      'count µs',
      'extend 1 token µs',
      'locate µs',
      'occ/pattern',
      'successors µs (8-token prefix)',
      'extract 150 tok µs',
      'naive SA count µs',
      'naive SA locate µs',
      'scan count µs',
      'count speed-up vs scan',
      'naive SA build (s)',
      'SA-IS alone (s)',
      'peak RSS MB',
    ],
    rows.map((r) => [
      `${r.scale}x SciFact`,
      r.tokens.toLocaleString('en'),
      f(r.buildCpuS),
      f(r.tokens / r.buildCpuS / 1e6),
      mb(r.fmBytes),
      f(r.fmBytes / r.rawU16),
      f(r.countUs),
      f(r.extendUs),
      f(r.locateUs),
      f(r.occPerPattern),
      f(r.succUs),
      f(r.extractUs),
      f(r.naiveCountUs),
      f(r.naiveLocateUs),
      f(r.scanUs, 0),
      (r.scanUs / r.countUs).toFixed(0),
      f(r.naiveBuildS),
      f(r.saisS),
      mb(r.rss),
    ]),
  ),
].join('\n');
writeBenchSection('llm2gr-fm-index', { title: '@quarry/llm2gr — FM-index over token ids', command: 'npm run bench -w @quarry/llm2gr', markdown: md });
console.log(md);
