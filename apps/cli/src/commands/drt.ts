import { ConfigError } from '@quarry/core';
import { bundledWeightsPath, evaluatePasskey, loadDrtWeights, PASSKEY_TASKS, type PasskeyDistractors, type PasskeyTaskName } from '@quarry/drt';
import { intOption, parseCommandArgs, type OptionSpecs } from '../args.js';
import type { Command } from './command.js';

const taskNames = Object.keys(PASSKEY_TASKS) as PasskeyTaskName[];

const specs: OptionSpecs = {
  length: { type: 'string', description: 'prompt length in tokens (e.g. 1000000)', valueName: 'N' },
  trials: { type: 'string', default: '50', description: 'seeded prompts to answer (default 50)', valueName: 'T' },
  seed: { type: 'string', default: '1', description: 'trial i of (seed, length) is the same prompt in every run (default 1)', valueName: 'S' },
  task: {
    type: 'string',
    default: 'plain',
    description: `task variant: ${taskNames.join(', ')} (default plain; decoys = 20 unmarked 5-digit runs, digits = 5% of the filler digits, marked = 20 runs after a similar-but-wrong marker, a family held out of training)`,
    valueName: 'NAME',
  },
  decoys: { type: 'string', description: 'override the task: this many unmarked 5-digit decoy runs', valueName: 'N' },
  'marked-decoys': { type: 'string', description: 'override the task: this many decoy runs after the similar-but-wrong marker', valueName: 'N' },
  'digit-rate': { type: 'string', description: 'override the task: share of filler tokens that are random digits, in [0, 0.5]', valueName: 'R' },
  'no-gca': { type: 'boolean', description: 'the baseline: the same model without grouped cross-attention (sliding window only)' },
  weights: { type: 'string', description: 'weights file (default: the bundled models/drt-passkey.json)', valueName: 'FILE' },
  lookback: {
    type: 'string',
    description: "states of the previous chunk exposed with each retrieved chunk (default: the model's, as trained; 8 for the bundled model)",
    valueName: 'N',
  },
  page: { type: 'string', description: 'page chunk states to a temporary file in DIR (bounded memory)', valueName: 'DIR' },
  json: { type: 'boolean', description: 'print one JSON object {accuracy, seconds, peak_rss_mb, ...}' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** The task's distractors: a named variant, then any explicit counts or rate on top. */
function taskOption(values: Record<string, unknown>): { name: string; task: PasskeyDistractors } {
  const name = String(values['task'] ?? 'plain');
  if (!(taskNames as string[]).includes(name)) throw new ConfigError(`--task must be one of ${taskNames.join(', ')}, got "${name}".`);
  const task: PasskeyDistractors = { ...PASSKEY_TASKS[name as PasskeyTaskName] };
  if (values['decoys'] !== undefined) task.decoys = intOption(values, 'decoys', 0, 0);
  if (values['marked-decoys'] !== undefined) task.markedDecoys = intOption(values, 'marked-decoys', 0, 0);
  if (values['digit-rate'] !== undefined) {
    const rate = Number(values['digit-rate']);
    if (!(rate >= 0 && rate <= 0.5)) throw new ConfigError(`--digit-rate must be a number in [0, 0.5], got "${String(values['digit-rate'])}".`);
    task.digitRate = rate;
  }
  const custom = values['decoys'] !== undefined || values['marked-decoys'] !== undefined || values['digit-rate'] !== undefined;
  return { name: custom ? `${name} (custom)` : name, task };
}

export const drtCommand: Command = {
  name: 'drt',
  usage: 'quarry drt passkey --length N [--trials T] [--seed S] [--task plain|decoys|digits|marked] [--decoys N] [--marked-decoys N] [--digit-rate R] [--no-gca] [--lookback N] [--page DIR] [--json]',
  summary: 'Passkey retrieval with the bundled DRT (grouped cross-attention over chunk memory), with or without distractors: accuracy, time and peak memory.',
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
    const { name: taskName, task } = taskOption(values);
    const model = loadDrtWeights(values['weights'] === undefined ? bundledWeightsPath() : String(values['weights']));
    const gca = values['no-gca'] !== true;
    const lookback = values['lookback'] === undefined ? (model.config.lookback ?? 0) : intOption(values, 'lookback', 0, 0);
    const r = evaluatePasskey(model, {
      length,
      trials,
      seed,
      gca,
      task,
      lookback,
      ...(values['page'] === undefined ? {} : { pageDir: String(values['page']) }),
      ...(signal ? { signal } : {}),
    });
    if (values['json']) {
      out(
        JSON.stringify({
          accuracy: r.accuracy,
          seconds: r.seconds,
          cpu_seconds: r.cpuSeconds,
          peak_rss_mb: r.peakRssMb,
          memory_bytes_per_token: r.memoryBytes / length,
          length: r.length,
          trials: r.trials,
          correct: r.correct,
          gca: r.gca,
          task: taskName,
          distractors: r.task,
          copied_distractor: r.copiedDistractor,
          crossing: r.crossing,
          inside: r.inside,
          failures: r.failures,
          seed,
          lookback,
        }),
      );
      return;
    }
    const pct = (c: number, n: number): string => (n ? `${((100 * c) / n).toFixed(1)}% (${c}/${n})` : '-');
    out(`passkey  ${r.gca ? 'DRT with GCA' : 'baseline (no GCA, sliding window only)'}  task ${taskName}  length ${length} tokens  seed ${seed}  lookback ${lookback}`);
    out(`accuracy          ${pct(r.correct, r.trials)}`);
    out(`  key in a chunk  ${pct(r.inside.correct, r.inside.trials)}`);
    out(`  across chunks   ${pct(r.crossing.correct, r.crossing.trials)}`);
    if (r.task.decoys || r.task.markedDecoys) out(`  wrong answers that copied a decoy  ${r.copiedDistractor}`);
    out(`time              ${r.seconds.toFixed(2)} s (${((1000 * r.seconds) / r.trials).toFixed(1)} ms per trial), ${r.cpuSeconds.toFixed(2)} CPU s`);
    out(`peak RSS          ${r.peakRssMb.toFixed(1)} MiB`);
  },
};
