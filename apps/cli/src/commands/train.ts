import { ConfigError } from '@quarry/core';
import { trainEncoder } from '@quarry/encoders';
import { intOption, parseCommandArgs, type OptionSpecs } from '../args.js';
import { progressBar } from '../progress.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  data: { type: 'string', multiple: true, description: 'training JSONL: {"query","positive","negative_1",...} per line (repeatable; .gz fine; `quarry mine` writes it)', valueName: 'FILE' },
  out: { type: 'string', description: 'model folder to write (ONNX + tokenizer + config): new, empty, or a Quarry model to replace', valueName: 'DIR' },
  overwrite: { type: 'boolean', description: 'replace --out even if it holds files that are not a Quarry folder (they are deleted)' },
  model: { type: 'string', default: 'static', description: "'static' (default) or 'contextual'", valueName: 'KIND' },
  init: { type: 'string', description: "'ppmi' (default), 'random', or a model folder to continue from", valueName: 'INIT' },
  dims: { type: 'string', default: '256', description: 'embedding width (default 256)', valueName: 'N' },
  mrl: { type: 'string', description: 'Matryoshka prefix dims, e.g. 32,64,128,256 (default: powers of two up to --dims)', valueName: 'LIST' },
  epochs: { type: 'string', description: 'passes over the data (default 1)', valueName: 'N' },
  'batch-size': { type: 'string', description: 'examples per step (default 64)', valueName: 'N' },
  negatives: { type: 'string', description: 'hard negatives used per example (default 1)', valueName: 'N' },
  lr: { type: 'string', description: 'Adam learning rate', valueName: 'X' },
  temperature: { type: 'string', description: 'InfoNCE temperature', valueName: 'X' },
  seed: { type: 'string', default: '42', description: 'random seed (same seed, same data -> same weights)', valueName: 'N' },
  checkpoints: { type: 'string', description: 'checkpoint folder; a run resumes from it', valueName: 'DIR' },
  quiet: { type: 'boolean', description: 'no progress output' },
  json: { type: 'boolean', description: 'print {out, steps, finalLoss, seconds} as JSON' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

function numberOption(values: Record<string, unknown>, name: string): number | undefined {
  if (values[name] === undefined) return undefined;
  const n = Number(values[name]);
  if (!Number.isFinite(n)) throw new ConfigError(`--${name} expects a number, got "${String(values[name])}".`);
  return n;
}

export const trainCommand: Command = {
  name: 'train',
  usage: 'quarry train --data pairs.jsonl --out DIR [--dims 256] [--mrl 32,64,128,256] [--epochs N] [--seed S]',
  summary: "Train Quarry's own encoder (InfoNCE with in-batch + hard negatives, Matryoshka loss) and export it to ONNX.",
  specs: () => specs,
  async run(argv, { out, signal }) {
    const { values } = parseCommandArgs(argv, specs);
    const data = values['data'] as string[] | undefined;
    if (!data?.length || !values['out']) throw new ConfigError('quarry train needs --data FILE and --out DIR. See --help.');
    const model = String(values['model']);
    if (model !== 'static' && model !== 'contextual') throw new ConfigError(`--model must be static or contextual, got "${model}".`);
    const mrl =
      values['mrl'] === undefined
        ? undefined
        : String(values['mrl'])
            .split(',')
            .map((s) => {
              const n = Number(s);
              if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--mrl expects comma-separated positive integers, got "${String(values['mrl'])}".`);
              return n;
            });
    const bar = progressBar(!values['quiet']);
    const started = performance.now();
    const result = await trainEncoder({
      data,
      out: String(values['out']),
      overwrite: values['overwrite'] === true,
      model,
      dim: intOption(values, 'dims', 256),
      ...(mrl ? { mrlDims: mrl } : {}),
      ...(values['init'] !== undefined ? { init: String(values['init']) } : {}),
      ...(values['epochs'] !== undefined ? { epochs: intOption(values, 'epochs', 1) } : {}),
      ...(values['batch-size'] !== undefined ? { batchSize: intOption(values, 'batch-size', 64) } : {}),
      ...(values['negatives'] !== undefined ? { negatives: intOption(values, 'negatives', 1, 0) } : {}),
      ...(numberOption(values, 'lr') !== undefined ? { lr: numberOption(values, 'lr')! } : {}),
      ...(numberOption(values, 'temperature') !== undefined ? { temperature: numberOption(values, 'temperature')! } : {}),
      ...(values['checkpoints'] !== undefined ? { checkpointDir: String(values['checkpoints']) } : {}),
      seed: intOption(values, 'seed', 42, 0),
      onProgress: (p) => bar({ phase: p.loss !== undefined ? `train loss ${p.loss.toFixed(3)}` : p.phase, done: p.step, total: p.totalSteps }),
      ...(signal ? { signal } : {}),
    });
    bar.done();
    const seconds = (performance.now() - started) / 1000;
    const finalLoss = result.losses.at(-1);
    if (values['json']) {
      out(JSON.stringify({ out: result.out, steps: result.steps, finalLoss, seconds, resumedFrom: result.resumedFrom ?? 0 }));
      return;
    }
    out(`trained ${result.steps} steps in ${seconds.toFixed(1)} s (final loss ${finalLoss?.toFixed(4) ?? 'n/a'}); model written to ${result.out}`);
  },
};
