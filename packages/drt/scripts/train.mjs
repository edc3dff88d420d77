// Trains the shipped passkey DRT (models/drt-passkey.json). Seeded and deterministic: the same
// options give the same weights bit for bit. Run after building the package:
//   npx nx run @quarry/drt:build && nice -n 10 node packages/drt/scripts/train.mjs
// Options: --steps N --seed S --out FILE (defaults: the shipped model's).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { evaluatePasskey, saveDrtWeights, trainPasskeyModel } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    steps: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string', default: join(here, '..', 'models', 'drt-passkey.json') },
  },
});
const options = {
  ...(values.steps ? { steps: Number(values.steps) } : {}),
  ...(values.seed ? { seed: Number(values.seed) } : {}),
};
const result = trainPasskeyModel(options, {
  reportEvery: 50,
  onProgress: (p) => console.error(`step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  token acc ${p.tokenAccuracy.toFixed(3)}  ctx <= ${p.maxChunks} chunks  ${p.seconds.toFixed(0)} s`),
});
const check = evaluatePasskey(result.model, { length: 4000, trials: 50, seed: 99 });
console.error(`passkey @4000 tokens (seed 99, 50 trials): ${(check.accuracy * 100).toFixed(1)}%`);
await saveDrtWeights(result.model, values.out, {
  command: `node packages/drt/scripts/train.mjs${values.steps ? ` --steps ${values.steps}` : ''}${values.seed ? ` --seed ${values.seed}` : ''}`,
  options: result.options,
  seconds: Math.round(result.seconds),
  finalLoss: result.history.at(-1)?.loss,
});
console.log(JSON.stringify({ out: values.out, seconds: result.seconds, final: result.history.at(-1), check4000: check.accuracy }));
