import { ConfigError, MemoryDocStore, Pipeline, openBeirDataset, readCorpus } from '@quarry/core';
import { parseCommandArgs, pluginOptions, type OptionSpecs } from '../args.js';
import { resolvePipeline } from '../pipelines.js';
import { progressBar } from '../progress.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  dataset: { type: 'string', description: 'BEIR-layout folder whose corpus is indexed', valueName: 'DIR' },
  pipeline: { type: 'string', default: 'bm25', description: 'built-in pipeline name or JSON/YAML pipeline file (default bm25)', valueName: 'NAME|FILE' },
  out: { type: 'string', description: 'folder to write the index to (replaced atomically)', valueName: 'DIR' },
  quiet: { type: 'boolean', description: 'no progress output' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const indexCommand: Command = {
  name: 'index',
  usage: 'quarry index --dataset DIR --pipeline NAME|FILE --out DIR',
  summary: 'Build a pipeline over a corpus and save it (config, documents and every index) to a folder.',
  specs: (registry) => ({ ...specs, ...pluginOptions(registry) }),
  async run(argv, { registry, out, signal }) {
    const { values } = parseCommandArgs(argv, this.specs(registry), registry);
    if (!values['dataset'] || !values['out']) throw new ConfigError('quarry index needs --dataset DIR and --out DIR. See --help.');
    const config = await resolvePipeline(String(values['pipeline']), registry, values);
    const dataset = openBeirDataset(String(values['dataset']));
    const bar = progressBar(!values['quiet'] && process.stderr.isTTY === true);
    const started = performance.now();
    const docs = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile));
    const pipeline = await Pipeline.build(config, registry, { docs, onProgress: bar, signal });
    await pipeline.save(String(values['out']));
    bar.done();
    out(`indexed ${docs.size} documents with pipeline "${config.name}" into ${String(values['out'])} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  },
};
