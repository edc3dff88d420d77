// One passkey evaluation in a fresh process (so its peak RSS belongs to this length alone).
// node bench/run-length.mjs --length N --trials T [--seed S] [--task plain|decoys|digits|marked] [--no-gca] [--lookback N] [--page DIR] [--weights FILE]
import { parseArgs } from 'node:util';
import { bundledWeightsPath, evaluatePasskey, loadDrtWeights } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    length: { type: 'string' },
    trials: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    first: { type: 'string', default: '0' },
    'no-gca': { type: 'boolean', default: false },
    page: { type: 'string' },
    lookback: { type: 'string' },
    weights: { type: 'string' },
    task: { type: 'string', default: 'plain' },
  },
});
const model = loadDrtWeights(values.weights ?? bundledWeightsPath());
const baseline = process.resourceUsage().maxRSS / 1024;
const r = evaluatePasskey(model, {
  length: Number(values.length),
  trials: Number(values.trials),
  seed: Number(values.seed),
  firstTrial: Number(values.first),
  ...(values.lookback === undefined ? {} : { lookback: Number(values.lookback) }),
  task: values.task,
  gca: !values['no-gca'],
  ...(values.page ? { pageDir: values.page } : {}),
});
console.log(JSON.stringify({ ...r, startRssMb: baseline, paged: Boolean(values.page) }));
