import { ConfigError } from '@quarry/core';
import { bundledWeightsPath, evaluatePasskey, loadDrtWeights } from '@quarry/drt';
import { intOption, parseCommandArgs, type OptionSpecs } from '../args.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  length: { type: 'string', description: 'prompt length in tokens (e.g. 1000000)', valueName: 'N' },
  trials: { type: 'string', default: '50', description: 'seeded prompts to answer (default 50)', valueName: 'T' },
  seed: { type: 'string', default: '1', description: 'trial i of (seed, length) is the same prompt in every run (default 1)', valueName: 'S' },
  'no-gca': { type: 'boolean', description: 'the baseline: the same model without grouped cross-attention (sliding window only)' },
  weights: { type: 'string', description: 'weights file (default: the bundled models/drt-passkey.json)', valueName: 'FILE' },
  lookback: {
    type: 'string',
    default: '0',
    description: 'inference only: also expose the last N states of the chunk before each retrieved chunk, for keys across chunk boundaries (default 0, as trained; 8 fixes them)',
    valueName: 'N',
  },
  page: { type: 'string', description: 'page chunk states to a temporary file in DIR (bounded memory)', valueName: 'DIR' },
  json: { type: 'boolean', description: 'print one JSON object {accuracy, seconds, peak_rss_mb, ...}' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const drtCommand: Command = {
  name: 'drt',
  usage: 'quarry drt passkey --length N [--trials T] [--seed S] [--no-gca] [--lookback N] [--page DIR] [--json]',
  summary: 'Passkey retrieval with the bundled DRT (grouped cross-attention over chunk memory): accuracy, time and peak memory.',
  specs: () => specs,
  async run(argv, { out, signal }) {
    const { values, positionals } = parseCommandArgs(argv, specs);
    if (positionals[0] !== 'passkey' || positionals.length !== 1) {
      throw new ConfigError(`quarry drt expects the subcommand "passkey", got "${positionals.join(' ')}". See --help.`);
    }
    if (values['length'] === undefined) throw new ConfigError('quarry drt passkey needs --length N (prompt tokens). See --help.');
    const length = intOption(values, 'length', 0, 8);
    const trials = intOption(values, 'trials', 50);
    const seed = intOption(values, 'seed', 1, 0);
    const model = loadDrtWeights(values['weights'] === undefined ? bundledWeightsPath() : String(values['weights']));
    const gca = values['no-gca'] !== true;
    const r = evaluatePasskey(model, {
      length,
      trials,
      seed,
      gca,
      lookback: intOption(values, 'lookback', 0, 0),
      ...(values['page'] === undefined ? {} : { pageDir: String(values['page']) }),
      ...(signal ? { signal } : {}),
    });
    if (values['json']) {
      out(
        JSON.stringify({
          accuracy: r.accuracy,
          seconds: r.seconds,
          peak_rss_mb: r.peakRssMb,
          length: r.length,
          trials: r.trials,
          correct: r.correct,
          gca: r.gca,
          crossing: r.crossing,
          inside: r.inside,
          seed,
          lookback: intOption(values, 'lookback', 0, 0),
        }),
      );
      return;
    }
    const pct = (c: number, n: number): string => (n ? `${((100 * c) / n).toFixed(1)}% (${c}/${n})` : '-');
    out(`passkey  ${r.gca ? 'DRT with GCA' : 'baseline (no GCA, sliding window only)'}  length ${length} tokens  seed ${seed}`);
    out(`accuracy          ${pct(r.correct, r.trials)}`);
    out(`  key in a chunk  ${pct(r.inside.correct, r.inside.trials)}`);
    out(`  across chunks   ${pct(r.crossing.correct, r.crossing.trials)}`);
    out(`time              ${r.seconds.toFixed(2)} s (${((1000 * r.seconds) / r.trials).toFixed(1)} ms per trial)`);
    out(`peak RSS          ${r.peakRssMb.toFixed(1)} MiB`);
  },
};
