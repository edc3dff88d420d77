// Trains the shipped passkey DRT (models/drt-passkey.json). Seeded and deterministic: the same
// options and starting weights give the same weights bit for bit. Run after building the package:
//   npx nx run @quarry/drt:build && node packages/drt/scripts/train.mjs
// The shipped model is stage 2 of two:
//   stage 1 (models/drt-passkey-base.json): the plain passkey task from a seeded initialisation,
//     1,500 steps, retrieved chunks without lookback; written by this script at commit b11d7a4
//     (`node packages/drt/scripts/train.mjs`, sha256 16ccf624..., see README "Results").
//   stage 2 (this script's defaults): continues from stage 1 with lookback 8 on distractor-laden
//     prompts (unmarked decoy runs, digits in the filler); marked decoys are held out.
// Options: --steps N --seed S --lr X --batch B --init FILE | --scratch (seeded initialisation,
// the schema's defaults) --out FILE (defaults: the shipped model's recipe).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { evaluatePasskey, loadDrtWeights, saveDrtWeights, trainPasskeyModel } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    steps: { type: 'string' },
    seed: { type: 'string' },
    lr: { type: 'string' },
    batch: { type: 'string' },
    init: { type: 'string' },
    scratch: { type: 'boolean', default: false },
    out: { type: 'string', default: join(here, '..', 'models', 'drt-passkey.json') },
  },
});
// Stage 2 of the shipped model: a short run at a lower learning rate, the same length curriculum
// (contexts of 2..32 chunks, at most 2,078 prompt tokens), distractors on by the schema's defaults.
const STAGE2 = { steps: 240, lr: 6e-3, warmFraction: 0.25, rampFraction: 0.25 };
const recipe = values.scratch ? {} : STAGE2;
const options = {
  ...recipe,
  ...(values.steps ? { steps: Number(values.steps) } : {}),
  ...(values.seed ? { seed: Number(values.seed) } : {}),
  ...(values.lr ? { lr: Number(values.lr) } : {}),
  ...(values.batch ? { batch: Number(values.batch) } : {}),
};
const initFile = values.scratch ? undefined : (values.init ?? join(here, '..', 'models', 'drt-passkey-base.json'));
const init = initFile ? loadDrtWeights(initFile) : undefined;
const result = trainPasskeyModel(options, {
  ...(init ? { init } : {}),
  reportEvery: 20,
  onProgress: (p) => console.error(`step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  token acc ${p.tokenAccuracy.toFixed(3)}  ctx <= ${p.maxChunks} chunks  ${p.seconds.toFixed(0)} s`),
});
const check = {};
for (const task of ['plain', 'decoys', 'digits']) {
  check[task] = evaluatePasskey(result.model, { length: 4000, trials: 50, seed: 99, task }).accuracy;
  console.error(`passkey @4000 tokens, task ${task} (seed 99, 50 trials): ${(check[task] * 100).toFixed(1)}%`);
}
const argv = process.argv.slice(2).filter((a, i, all) => a !== '--out' && all[i - 1] !== '--out');
await saveDrtWeights(result.model, values.out, {
  command: `node packages/drt/scripts/train.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`,
  ...(initFile ? { init: { file: initFile.slice(initFile.lastIndexOf('models/')), sha256: JSON.parse((await import('node:fs')).readFileSync(initFile, 'utf8')).sha256 } } : {}),
  options: result.options,
  seconds: Math.round(result.seconds),
  finalLoss: result.history.at(-1)?.loss,
});
console.log(JSON.stringify({ out: values.out, seconds: result.seconds, final: result.history.at(-1), check4000: check }));
