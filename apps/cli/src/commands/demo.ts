import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@quarry/core';
import { parseCommandArgs, type OptionSpecs } from '../args.js';
import { runEvaluation } from '../evaluation.js';
import { availablePipelines, resolvePipeline } from '../pipelines.js';
import { progressBar } from '../progress.js';
import { formatTable } from '../table.js';
import type { Command } from './command.js';

/** The SciFact copy bundled in the repository (datasets/scifact), found relative to this file. */
export function bundledDataset(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'datasets', 'scifact');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new ConfigError('The bundled SciFact dataset (datasets/scifact) was not found; pass --dataset DIR.');
}

const specs: OptionSpecs = {
  dataset: { type: 'string', description: 'BEIR folder (default: the bundled SciFact)', valueName: 'DIR' },
  splits: { type: 'string', default: 'test,test-unseen', description: 'comma-separated splits (default test,test-unseen)', valueName: 'LIST' },
  pipelines: { type: 'string', description: 'comma-separated pipelines (default: every built-in pipeline available)', valueName: 'LIST' },
  json: { type: 'boolean', description: 'print the reports as one JSON object' },
  'no-cache': { type: 'boolean', description: 'rebuild every pipeline' },
  quiet: { type: 'boolean', description: 'no progress output' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const demoCommand: Command = {
  name: 'demo',
  usage: 'quarry demo [--dataset DIR] [--splits test,test-unseen] [--pipelines a,b]',
  summary: 'Evaluate every available pipeline on the bundled SciFact test and test-unseen splits and print one table.',
  specs: () => specs,
  async run(argv, { registry, out, signal }) {
    const { values } = parseCommandArgs(argv, specs);
    const datasetDir = (values['dataset'] as string | undefined) ?? bundledDataset();
    const names = values['pipelines'] ? String(values['pipelines']).split(',') : availablePipelines(registry);
    const splits = String(values['splits']).split(',');
    const bar = progressBar(!values['quiet']);
    const reports = [];
    for (const name of names) {
      const config = await resolvePipeline(name, registry);
      for (const split of splits) {
        reports.push(await runEvaluation({ datasetDir, split, config, registry, k: 100, useCache: !values['no-cache'], onProgress: bar, signal }));
      }
    }
    bar.done();
    if (values['json']) {
      out(JSON.stringify({ dataset: datasetDir, reports }));
      return;
    }
    out(`Quarry demo: ${datasetDir}`);
    out(
      formatTable(
        ['pipeline', 'split', 'queries', 'nDCG@10', 'R@100', 'MRR@10', 'QPS'],
        reports.map((r) => [r.pipeline, r.split, r.queries, r.metrics['ndcg@10']!, r.metrics['recall@100']!, r.metrics['mrr@10']!, r.qps]),
      ),
    );
    out('\nQPS: search phase only, top 100, one process. Figures reproduce with `quarry eval --dataset DIR --split S --pipeline P --k 100`.');
    out("Playground (pipelines side by side, with each plugin's explanation): `npm run playground` in the repository, or `quarry serve --config playground.yaml`, then open http://127.0.0.1:8080/");
  },
};
