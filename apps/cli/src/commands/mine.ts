import { existsSync, writeFileSync } from 'node:fs';
import { ConfigError, InputError, loadSplit, openBeirDataset, readQrels, type Pipeline, type Retriever } from '@quarry/core';
import { FalseNegativeOracle, OUTPUT_FORMATS, histogramSvg, mineToFile, type MiningOptionsInput, type OutputFormat, type Teacher } from '@quarry/mining';
import { parseCommandArgs, pluginOptions, type OptionSpecs } from '../args.js';
import { buildOrLoadPipeline } from '../cache.js';
import { resolvePipeline } from '../pipelines.js';
import { progressBar } from '../progress.js';
import type { Command } from './command.js';

const num = (description: string, valueName = 'X'): OptionSpecs[string] => ({ type: 'string', description, valueName });

const specs: OptionSpecs = {
  dataset: { type: 'string', description: 'BEIR-layout folder', valueName: 'DIR' },
  split: { type: 'string', default: 'train', description: 'split whose queries and positives are mined (default train)', valueName: 'NAME' },
  teacher: { type: 'string', default: 'bm25', description: 'comma-separated teacher pipelines (names or files), e.g. bm25,dense', valueName: 'LIST' },
  ensemble: { type: 'string', default: 'intra', description: 'intra (negatives from every teacher) or cross (one teacher per query)', valueName: 'MODE' },
  dedup: { type: 'boolean', description: 'intra: drop a negative already taken from an earlier teacher' },
  method: { type: 'string', default: 'perc-pos', description: 'naive | shifted | abs | margin-pos | perc-pos (default perc-pos)', valueName: 'M' },
  perc: num('perc-pos: keep negatives scoring < positive * perc (default 0.95)'),
  margin: num('margin-pos: keep negatives scoring < positive - margin (default 0.05)'),
  'abs-threshold': num('abs: drop candidates scoring above this (default 0.7)'),
  normalize: { type: 'string', description: 'scale abs/margin-pos/perc-pos compare on: none | minmax-per-query (needed for abs/margin-pos with bm25)', valueName: 'N' },
  shift: num('shifted: skip the first N candidates (default 10)', 'N'),
  'range-min': num('skip the first N non-positive candidates', 'N'),
  'range-max': num('consider candidates up to rank N', 'N'),
  'min-score': num('drop candidates scoring below this'),
  'max-score': num('drop candidates scoring above this'),
  negatives: num('negatives per query (default 4)', 'N'),
  'sample-from': num('sample the negatives from the top N kept candidates (switches selection to sampling)', 'N'),
  selection: { type: 'string', description: 'top | sample | top1-sample (default top; sample when --sample-from is given)', valueName: 'S' },
  sampling: { type: 'string', description: 'softmax (paper) | uniform', valueName: 'S' },
  depth: num('candidates fetched per teacher and query (default 100)', 'N'),
  seed: num('random seed (default 42)', 'N'),
  format: { type: 'string', default: 'n-tuple-scores', description: `output layout: ${OUTPUT_FORMATS.join(' | ')}`, valueName: 'F' },
  pad: { type: 'boolean', description: 'n-tuple formats: pad queries short of negatives by repeating theirs (default: drop them)' },
  overwrite: { type: 'boolean', description: 'replace an existing --out / --stats file' },
  out: { type: 'string', description: 'output JSONL file (resumes from its checkpoint if a run was cut off)', valueName: 'FILE.jsonl' },
  stats: { type: 'string', description: 'write the statistics report (JSON) here, and a histogram SVG beside it', valueName: 'FILE.json' },
  json: { type: 'boolean', description: 'print the statistics report as JSON on stdout' },
  quiet: { type: 'boolean', description: 'no progress output' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

const toNumber = (v: unknown): number | undefined => (v === undefined ? undefined : Number(v));

export const mineCommand: Command = {
  name: 'mine',
  usage: 'quarry mine --dataset DIR --split train --teacher bm25[,dense] --method perc-pos [--perc 0.95] [--negatives 4] --format n-tuple-scores --out FILE.jsonl [--stats FILE.json]',
  summary: 'Mine hard negatives (NV-Retriever positive-aware filters) with any pipeline as teacher.',
  specs: (registry) => ({ ...specs, ...pluginOptions(registry) }),
  async run(argv, { registry, out, signal }) {
    const { values } = parseCommandArgs(argv, this.specs(registry), registry);
    if (!values['dataset'] || !values['out']) throw new ConfigError('quarry mine needs --dataset DIR and --out FILE.jsonl. See --help.');
    const format = String(values['format']);
    if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) throw new ConfigError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got "${format}".`);
    const ensemble = String(values['ensemble']);
    if (ensemble !== 'intra' && ensemble !== 'cross') throw new ConfigError(`--ensemble must be intra or cross, got "${ensemble}".`);
    // Refuse before hours of mining, not after: a finished run's files are never clobbered unasked.
    const statsFile = values['stats'] === undefined ? undefined : String(values['stats']);
    if (!values['overwrite']) {
      for (const file of [String(values['out']), ...(statsFile ? [statsFile, svgFile(statsFile)] : [])]) {
        if (existsSync(file)) throw new InputError(`${file} already exists; pass --overwrite to replace it, or choose another file.`, { file });
      }
    }
    const dataset = openBeirDataset(String(values['dataset']));
    const { queries, qrels } = await loadSplit(dataset, String(values['split']));
    const bar = progressBar(!values['quiet']);
    const teachers: Teacher[] = [];
    let docs;
    for (const spec of String(values['teacher']).split(',')) {
      const config = await resolvePipeline(spec, registry, values);
      const { pipeline } = await buildOrLoadPipeline(dataset, config, registry, { useCache: true, onProgress: bar, signal });
      docs ??= pipeline.docs;
      const scoreRange = teacherScoreRange(pipeline);
      teachers.push({ name: config.name, retriever: teacherRetriever(pipeline), ...(scoreRange ? { scoreRange } : {}) });
    }
    const labels = await Promise.all(Object.values(dataset.qrelsFiles).map((f) => readQrels(f)));
    const sampleFrom = toNumber(values['sample-from']);
    const { report, resumedFrom } = await mineToFile({
      queries,
      qrels,
      docs: docs!,
      teachers,
      ensemble: { mode: ensemble, dedup: Boolean(values['dedup']) },
      format: format as OutputFormat,
      out: String(values['out']),
      overwrite: Boolean(values['overwrite']),
      pad: Boolean(values['pad']),
      oracle: new FalseNegativeOracle(labels),
      onProgress: bar,
      signal,
      options: stripUndefined({
        method: values['method'],
        perc: toNumber(values['perc']),
        margin: toNumber(values['margin']),
        absThreshold: toNumber(values['abs-threshold']),
        normalize: values['normalize'],
        shift: toNumber(values['shift']),
        rangeMin: toNumber(values['range-min']),
        rangeMax: toNumber(values['range-max']),
        minScore: toNumber(values['min-score']),
        maxScore: toNumber(values['max-score']),
        negatives: toNumber(values['negatives']),
        sampleFrom,
        selection: values['selection'] ?? (sampleFrom !== undefined ? 'sample' : undefined),
        sampling: values['sampling'],
        depth: toNumber(values['depth']),
        seed: toNumber(values['seed']),
      }) as MiningOptionsInput, // validated (with paths in the error) by mineToFile's schema
    });
    bar.done();
    if (statsFile) {
      writeFileSync(statsFile, `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(svgFile(statsFile), histogramSvg(report, `${String(values['teacher'])} scores, ${String(values['method'])}`));
    }
    if (values['json']) {
      out(JSON.stringify(report));
      return;
    }
    const fn = report.falseNegatives;
    out(`mined ${report.queries} queries (${report.pairs} query-positive pairs) into ${String(values['out'])}${resumedFrom ? ` (resumed after ${resumedFrom} queries)` : ''}`);
    out(
      `skipped: ${report.skipped.noPositives} queries without positives, ${report.skipped.positivesMissingFromCorpus} positives missing from the corpus; ${report.shortQueries} queries got fewer negatives than asked`,
    );
    if (report.normalize !== 'none') out(`method ${String(values['method'])} compared ${report.normalize} normalised teacher scores (written scores are the teacher's own)`);
    const t = report.tuples;
    if (t.droppedQueries || t.paddedQueries)
      out(
        `n-tuples: dropped ${t.droppedQueries} queries (${t.droppedRows} rows) short of negatives, padded ${t.paddedQueries} (${t.paddedRows} rows)${values['pad'] ? '' : '; --pad repeats their negatives instead'}`,
      );
    for (const [name, t] of Object.entries(report.teachers)) {
      out(
        `teacher ${name}: ${t.candidates} candidates, removed positive=${t.removed.positive} range=${t.removed.range} method=${t.removed.method} bounds=${t.removed['score-bounds']}, kept ${t.kept}, selected ${t.selected}`,
      );
    }
    out(
      `likely false negatives among ${fn.checked} mined: labelled ${fn.labelled} (${(fn.labelledRate * 100).toFixed(2)}%), sibling-query positives ${fn.sibling} (${(fn.siblingRate * 100).toFixed(2)}%)`,
    );
  },
};

/** A single-retriever pipeline mines through its retriever directly, so the teacher can also score positives (DocScorer). */
function teacherRetriever(pipeline: Pipeline): Retriever {
  return pipeline.retrievers.length === 1 && !pipeline.rewriter && !pipeline.reranker ? pipeline.retrievers[0]! : pipeline;
}

const svgFile = (statsFile: string): string => `${statsFile.replace(/\.json$/, '')}.svg`;

/** Score ranges of the bundled retrievers a single-retriever teacher may be (BM25 is unbounded, dense is cosine). */
const SCORE_RANGES: Readonly<Record<string, { min: number; max: number }>> = {
  bm25: { min: 0, max: Infinity },
  dense: { min: -1, max: 1 },
  'dense-pg': { min: -1, max: 1 },
};

function teacherScoreRange(pipeline: Pipeline): { min: number; max: number } | undefined {
  const only = pipeline.retrievers.length === 1 && !pipeline.rewriter && !pipeline.reranker ? pipeline.config.retrievers[0] : undefined;
  return only ? SCORE_RANGES[only.plugin] : undefined;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
