import { ConfigError } from '@quarry/core';
import { intOption, parseCommandArgs, pluginOptions, type OptionSpecs } from '../args.js';
import { runEvaluation } from '../evaluation.js';
import { resolvePipeline } from '../pipelines.js';
import { progressBar } from '../progress.js';
import { formatTable } from '../table.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  dataset: { type: 'string', description: 'BEIR-layout folder (corpus.jsonl[.gz], queries.jsonl[.gz], qrels/<split>.tsv[.gz])', valueName: 'DIR' },
  split: { type: 'string', default: 'test', description: 'qrels split to evaluate: qrels/<split>.tsv (default test)', valueName: 'NAME' },
  pipeline: { type: 'string', default: 'bm25', description: 'built-in pipeline name or a JSON/YAML pipeline file (default bm25)', valueName: 'NAME|FILE' },
  k: { type: 'string', default: '1000', description: 'hits retrieved per query (default 1000)', valueName: 'N' },
  run: { type: 'string', description: 'also write the run in TREC format to this file', valueName: 'OUT.trec' },
  trace: { type: 'string', description: 'write one JSON line per query with what its pipeline explains (LameR/HyDE: prompt, answers, augmented query)', valueName: 'FILE.jsonl' },
  json: { type: 'boolean', description: 'print one JSON object on stdout instead of a table' },
  'no-cache': { type: 'boolean', description: 'build the pipeline afresh and do not cache it' },
  quiet: { type: 'boolean', description: 'no progress output' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const evalCommand: Command = {
  name: 'eval',
  usage: 'quarry eval --dataset DIR [--split test] --pipeline NAME|FILE [--k 1000] [--run OUT.trec] [--trace FILE.jsonl] [--json]',
  summary: 'Evaluate a pipeline on a BEIR dataset split with trec_eval-exact metrics (nDCG@10, R@100, R@1000, MRR@10, MAP).',
  specs: (registry) => ({ ...specs, ...pluginOptions(registry) }),
  async run(argv, { registry, out, signal }) {
    const { values } = parseCommandArgs(argv, this.specs(registry), registry);
    if (!values['dataset']) throw new ConfigError('quarry eval needs --dataset DIR (a BEIR-layout folder). See --help.');
    const config = await resolvePipeline(String(values['pipeline']), registry, values);
    const bar = progressBar(!values['quiet']);
    const report = await runEvaluation({
      datasetDir: String(values['dataset']),
      split: String(values['split']),
      config,
      registry,
      k: intOption(values, 'k', 1000),
      useCache: !values['no-cache'],
      runFile: values['run'] as string | undefined,
      traceFile: values['trace'] as string | undefined,
      onProgress: bar,
      signal,
    });
    bar.done();
    if (values['json']) {
      out(JSON.stringify(report));
      return;
    }
    out(`${report.pipeline} on ${report.dataset} [${report.split}], ${report.queries} queries, top ${report.k}${report.cached ? ' (cached index)' : ''}`);
    out(formatTable(['metric', 'value'], [...Object.entries(report.metrics), ['qps', report.qps]]));
  },
};
