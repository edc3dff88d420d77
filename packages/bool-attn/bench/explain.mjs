// Cue / scope precision and recall of `explain` on the hand-checked gold set (benchmark/explain-gold.json).
// Usage: npx tsup && node bench/explain.mjs [--model DIR] [--verbose]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundledBoolModelDir, loadBoolEncoder, readGoldExplanations, scoreExplanations } from '../dist/index.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({ options: { model: { type: 'string' }, gold: { type: 'string', default: here('../benchmark/explain-gold.json') }, verbose: { type: 'boolean', default: false } } });
const gold = await readGoldExplanations(values.gold);
const encoder = await loadBoolEncoder(values.model ?? bundledBoolModelDir());
const s = scoreExplanations(encoder, gold);
const f3 = (x) => x.toFixed(3);
const count = (op) => gold.filter((g) => g.op === op).length;
console.log(`${s.queries} queries (NOT ${count('not')}, AND ${count('and')}, OR ${count('or')}, no operator ${count('none')}); gates right on ${(s.gateAccuracy * 100).toFixed(1)}%\n`);
console.log('| | cue precision | cue recall (spans) | scope precision | scope recall |\n|---|---|---|---|---|');
for (const op of ['not', 'and', 'or']) {
  const c = s.cueByOp[op];
  const sc = s.scopeByOp[op];
  console.log(`| ${op.toUpperCase()} | ${f3(c.precision)} (${c.tp}/${c.predicted}) | ${f3(c.recall)} | ${f3(sc.precision)} (${sc.tp}/${sc.predicted}) | ${f3(sc.recall)} (${sc.tp}/${sc.gold}) |`);
}
console.log(`| all | ${f3(s.cue.precision)} (${s.cue.tp}/${s.cue.predicted}) | ${f3(s.cue.recall)} | | |`);
const w = s.notWeights;
console.log(`\nNOT queries, mean pooling weight: gold-scope words ${w.scope.toFixed(3)}, other words ${w.outside.toFixed(3)}; other words below 0.75: ${w.leakedWords}/${w.outsideWords}`);
if (values.verbose)
  for (const q of s.perQuery)
    console.log(
      `${q.id} ${q.op.padEnd(4)} cues [${q.cueWords.join(' ')}] gold [${q.goldCue.join(' | ')}]  scope [${q.scopeWords.join(' ')}] gold [${q.goldScope.join(' ')}]  gates ${JSON.stringify(q.gates)}`,
    );
