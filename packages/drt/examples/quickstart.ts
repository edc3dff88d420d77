import { answer, bundledWeightsPath, evaluatePasskey, loadDrtWeights, passkeyTrial } from '@quarry/drt';

const model = loadDrtWeights(bundledWeightsPath());

// One 100,000-token prompt: filler, 20 decoy 5-digit runs without the key marker, the key
// (marker + 5 digits) at a random depth, the question at the end.
const trial = passkeyTrial(1, 100_000, 0, 'decoys');
const result = answer(model, trial.tokens);
console.log(`key ${trial.key.join('')} at token ${trial.keyStart}, answer ${result.tokens.join('')}`);
console.log(`retrieved chunks ${result.retrieved.join(', ')} (the key is in chunk ${Math.floor(trial.keyStart / model.config.chunk)})`);

// Accuracy over 10 seeded prompts of 16K tokens per task variant ("marked" was held out of
// training), and the same weights without grouped cross-attention.
for (const task of ['plain', 'decoys', 'digits', 'marked'] as const) {
  const r = evaluatePasskey(model, { length: 16_000, trials: 10, seed: 1, task });
  console.log(`${task.padEnd(6)}  GCA     ${r.correct}/${r.trials} correct`);
}
const base = evaluatePasskey(model, { length: 16_000, trials: 10, seed: 1, gca: false });
console.log(`plain   no GCA  ${base.correct}/${base.trials} correct`);
