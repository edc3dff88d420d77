import { answer, bundledWeightsPath, evaluatePasskey, loadDrtWeights, passkeyTrial } from '@quarry/drt';

const model = loadDrtWeights(bundledWeightsPath());

// One 100,000-token prompt: filler, a 5-digit key at a random depth, the question at the end.
const trial = passkeyTrial(1, 100_000, 0);
const result = answer(model, trial.tokens);
console.log(`key ${trial.key.join('')} at token ${trial.keyStart}, answer ${result.tokens.join('')}`);
console.log(`retrieved chunks ${result.retrieved.join(', ')} (the key is in chunk ${Math.floor(trial.keyStart / model.config.chunk)})`);

// Accuracy over 10 seeded prompts of 16K tokens, with and without grouped cross-attention.
for (const gca of [true, false]) {
  const r = evaluatePasskey(model, { length: 16_000, trials: 10, seed: 1, gca });
  console.log(`${gca ? 'GCA     ' : 'no GCA  '} ${r.correct}/${r.trials} correct`);
}
