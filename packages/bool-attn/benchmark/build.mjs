// Builds the Boolean benchmark (BEIR layout) from SciFact's real queries and qrels.
// Usage: node benchmark/build.mjs [--depth 20] [--seed 42] [--out benchmark/scifact-bool]
// Requires the built package (npx tsup). Deterministic: same inputs -> same files.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBooleanBenchmark } from '../dist/index.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({
  options: {
    depth: { type: 'string', default: '20' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: here('./scifact-bool') },
    dataset: { type: 'string', default: here('../../../datasets/scifact') },
  },
});
const t0 = Date.now();
const { stats } = await buildBooleanBenchmark({ dataset: values.dataset, out: values.out, depth: Number(values.depth), seed: Number(values.seed) });
console.log(JSON.stringify(stats, null, 2));
console.log(`written to ${values.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
