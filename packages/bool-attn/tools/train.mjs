// Trains the shipped Boolean modules (models/scifact-bool) on the benchmark's train split.
// Usage: npx tsup && node tools/train.mjs [--out models/scifact-bool] [--seed 42]
// Seeded and single-threaded: the same command gives the same weights bit for bit.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { trainBoolModules } from '../dist/index.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: here('../models/scifact-bool') },
    benchmark: { type: 'string', default: here('../benchmark/scifact-bool') },
    seed: { type: 'string', default: '42' },
    hidden: { type: 'string', default: '16' },
    pre: { type: 'string', default: '1' },
    fine: { type: 'string', default: '2' },
    lr: { type: 'string', default: '0.003' },
    aux: { type: 'string', default: '0.3' },
    temperature: { type: 'string', default: '0.5' },
  },
});
let last = 0;
const result = await trainBoolModules({
  benchmark: values.benchmark,
  out: values.out,
  seed: Number(values.seed),
  hidden: Number(values.hidden),
  epochs: [Number(values.pre), Number(values.fine)],
  lr: Number(values.lr),
  auxWeight: Number(values.aux),
  temperature: Number(values.temperature),
  onProgress: (p) => {
    if (p.elapsedMs - last > 10000 || p.step === p.steps) {
      last = p.elapsedMs;
      console.error(`${p.phase} epoch ${p.epoch} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${(p.elapsedMs / 1000).toFixed(0)} s`);
    }
  },
});
console.log(JSON.stringify(result, null, 2));
