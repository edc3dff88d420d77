// Boundary-crossing keys in isolation: N prompts whose key (marker + 5 digits) is forced across a
// chunk boundary, and N with the key at a uniform depth, answered by the bundled model in its
// default configuration (retrieved chunks expose the previous chunk's last `lookback` states, as
// trained) and, for comparison, with lookback 0 (own states + the next chunk's first 8 only).
// Run: node bench/crossing.mjs [--length 3000] [--trials 100]
import { parseArgs } from 'node:util';
import { SeededRandom } from '@quarry/core';
import { answer, bundledWeightsPath, KEY_SPAN, loadDrtWeights, passkeyExample } from '../dist/index.js';

const { values } = parseArgs({ options: { length: { type: 'string', default: '3000' }, trials: { type: 'string', default: '100' }, seed: { type: 'string', default: '123' } } });
const model = loadDrtWeights(bundledWeightsPath());
const L = Number(values.length);
const n = Number(values.trials);
const S = model.config.chunk;
for (const lookback of [model.config.lookback ?? 0, 0]) {
  const rng = new SeededRandom(Number(values.seed));
  let crossing = 0;
  let uniform = 0;
  for (let i = 0; i < n; i++) {
    const boundary = (1 + rng.int(Math.floor((L - KEY_SPAN - 2) / S) - 2)) * S;
    const ex = passkeyExample(rng, L, { keyStart: boundary - 1 - rng.int(KEY_SPAN - 1) });
    if (answer(model, ex.tokens, { lookback }).tokens.join('') === ex.key.join('')) crossing++;
    const ex2 = passkeyExample(rng, L);
    if (answer(model, ex2.tokens, { lookback }).tokens.join('') === ex2.key.join('')) uniform++;
  }
  console.log(JSON.stringify({ length: L, lookback, crossing: `${crossing}/${n}`, uniform: `${uniform}/${n}` }));
}
