import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError, MemoryDocStore, OutputDirError, Pipeline, assertWritableIndexDir, openBeirDataset, readCorpus } from '@quarry/core';
import { parseCommandArgs, pluginOptions, type OptionSpecs } from '../args.js';
import { resolvePipeline } from '../pipelines.js';
import { progressBar } from '../progress.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  dataset: { type: 'string', description: 'BEIR-layout folder whose corpus is indexed (queries.jsonl and qrels/ are not needed)', valueName: 'DIR' },
  pipeline: { type: 'string', default: 'bm25', description: 'built-in pipeline name or JSON/YAML pipeline file (default bm25)', valueName: 'NAME|FILE' },
  out: { type: 'string', description: 'folder to write the index to: a new or empty folder, or an index to replace (atomically)', valueName: 'DIR' },
  overwrite: { type: 'boolean', description: 'replace --out even if it holds files that are not a Quarry index (they are deleted)' },
  'replace-invalid-utf8': { type: 'boolean', description: 'replace bytes that are not UTF-8 in the corpus with U+FFFD (and report how many lines) instead of failing' },
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
    const outDir = String(values['out']);
    const config = await resolvePipeline(String(values['pipeline']), registry, values);
    const dataset = openBeirDataset(String(values['dataset']));
    // Refuse before any work: a save that would delete the corpus or unrelated files is never wanted.
    assertOutsideDataset(outDir, dataset.dir);
    await assertWritableIndexDir(outDir, { overwrite: values['overwrite'] === true });
    const bar = progressBar(!values['quiet']);
    const started = performance.now();
    const replaced: number[] = [];
    const docs = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile, { allowInvalidUtf8: values['replace-invalid-utf8'] === true, onInvalidUtf8: (line) => replaced.push(line) }));
    const pipeline = await Pipeline.build(config, registry, { docs, onProgress: bar, signal });
    await pipeline.save(outDir, { overwrite: values['overwrite'] === true });
    bar.done();
    if (replaced.length) out(`replaced invalid UTF-8 with U+FFFD on ${replaced.length} line(s) of ${dataset.corpusFile} (first: line ${replaced[0]})`);
    out(`indexed ${docs.size} documents with pipeline "${config.name}" into ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  },
};

/** Refuses an --out that is the dataset folder, inside it, or holds it (links resolved). */
function assertOutsideDataset(outDir: string, datasetDir: string): void {
  const outPath = realPathOf(outDir);
  const dataPath = realPathOf(datasetDir);
  const inside = (child: string, parent: string) => {
    const rel = relative(parent, child);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
  };
  if (inside(outPath, dataPath)) throw new OutputDirError(resolve(outDir), `it is the dataset folder ${resolve(datasetDir)} or inside it; write the index to a folder outside the dataset.`);
  if (inside(dataPath, outPath)) throw new OutputDirError(resolve(outDir), `it holds the dataset folder ${resolve(datasetDir)}; write the index to a folder outside the dataset.`);
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest (for a path not created yet). */
function realPathOf(p: string): string {
  const full = resolve(p);
  if (existsSync(full)) return realpathSync(full);
  const parent = dirname(full);
  return parent === full ? full : join(realPathOf(parent), basename(full));
}
