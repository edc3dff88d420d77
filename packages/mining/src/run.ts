import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import {
  InputError,
  checkOptions,
  parseConfig,
  runtimeOptionsShape,
  throwIfAborted,
  z,
  writeFileAtomic,
  QuarryError,
  type DocStore,
  type ProgressCallback,
  type Qrels,
  type Query,
} from '@quarry/core';
import { TUPLE_FORMATS, fitTuple, formatExample, type OutputFormat } from './formats.js';
import type { FalseNegativeOracle } from './labels.js';
import { mineBatch, type EnsembleOptions, type Teacher } from './miner.js';
import { miningOptionsSchema, type MiningOptionsInput } from './options.js';
import { MiningStats, type MiningReport } from './stats.js';

export interface MineToFileOptions {
  queries: readonly Query[];
  qrels: Qrels;
  docs: DocStore;
  teachers: readonly Teacher[];
  options?: MiningOptionsInput;
  ensemble?: Partial<EnsembleOptions>;
  format: OutputFormat;
  out: string;
  /** Replace an existing `out` (default false: an existing file is refused, so a finished run is never clobbered). */
  overwrite?: boolean;
  /**
   * n-tuple formats: pad a query with fewer negatives than asked by repeating its negatives,
   * instead of dropping it (the default, as sentence-transformers does). Counted in `report.tuples`.
   */
  pad?: boolean;
  /** Labels of every split, to estimate false negatives. */
  oracle?: FalseNegativeOracle;
  batchSize?: number;
  /** Minimum seconds between checkpoints (the last batch always checkpoints). Default 2. */
  checkpointEvery?: number;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/**
 * `mineToFile(options)`, strict: a misspelled key (`{ overwite: true }`) is a ConfigError naming
 * the closest valid one. `options` is checked next by `miningOptionsSchema` (strict as well).
 */
export const mineToFileOptionsSchema = z.strictObject({
  queries: z.array(z.unknown()),
  qrels: z.custom<Qrels>((v) => v instanceof Map, 'must be a Map of query id -> (doc id -> grade)'),
  docs: z.custom<DocStore>((v) => typeof (v as DocStore | null)?.get === 'function', 'must be a DocStore'),
  teachers: z.array(z.unknown()),
  options: z.record(z.string(), z.unknown()).optional(),
  ensemble: z.strictObject({ mode: z.enum(['intra', 'cross']).optional(), dedup: z.boolean().optional() }).optional(),
  format: z.string(),
  out: z.string().min(1),
  overwrite: z.boolean().optional(),
  pad: z.boolean().optional(),
  oracle: z.unknown().optional(),
  batchSize: z.number().int().positive().optional(),
  checkpointEvery: z.number().nonnegative().optional(),
  ...runtimeOptionsShape,
});

const CHECKPOINT_VERSION = 1;

interface Checkpoint {
  version: number;
  fingerprint: string;
  queriesDone: number;
  bytes: number;
  stats: ReturnType<MiningStats['toJSON']>;
}

/**
 * Mines negatives for every query and streams the rows to `out` (JSONL). Work goes to
 * `out.partial`; after each batch the file is fsynced and a checkpoint records how far it
 * got, so a killed run started again with the same inputs resumes at the next batch
 * without redoing or losing rows. On completion `out.partial` is renamed to `out`.
 * Memory is bounded by the batch: no query × corpus matrix is ever built.
 */
export async function mineToFile(o: MineToFileOptions): Promise<{ report: MiningReport; resumedFrom: number }> {
  checkOptions(mineToFileOptionsSchema, o, 'mineToFile options');
  const options = parseConfig(miningOptionsSchema, o.options ?? {}, 'mining options');
  const ensemble: EnsembleOptions = { mode: o.ensemble?.mode ?? 'intra', dedup: o.ensemble?.dedup ?? false };
  const batchSize = o.batchSize ?? 256;
  const partial = `${o.out}.partial`;
  const checkpointFile = `${o.out}.checkpoint.json`;
  if (existsSync(o.out) && !o.overwrite) {
    throw new InputError(`${o.out} already exists; pass overwrite: true (--overwrite) to replace it, or choose another output file.`, { out: o.out });
  }
  const pad = o.pad ?? false;
  const tuple = TUPLE_FORMATS.includes(o.format);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ options, ensemble, format: o.format, pad, teachers: o.teachers.map((t) => t.name), queries: o.queries.map((q) => q.id), batchSize }))
    .digest('hex');

  let stats = new MiningStats();
  let start = 0;
  if (existsSync(checkpointFile) && existsSync(partial)) {
    const cp = JSON.parse(await readFile(checkpointFile, 'utf8')) as Checkpoint;
    if (cp.version !== CHECKPOINT_VERSION || cp.fingerprint !== fingerprint) {
      throw new QuarryError('INPUT_INVALID', `${checkpointFile} belongs to a mining run with other inputs or options; delete it and ${partial} to start afresh.`, { checkpointFile });
    }
    const size = (await stat(partial)).size;
    if (size < cp.bytes) throw new QuarryError('INDEX_CORRUPT', `${partial} is shorter than its checkpoint says (${size} < ${cp.bytes}); delete both files to start afresh.`);
    await truncate(partial, cp.bytes); // drop rows of a batch that was cut off
    stats = MiningStats.fromJSON(cp.stats);
    start = cp.queriesDone;
  } else {
    await rm(partial, { force: true });
  }
  const resumedFrom = start;
  const handle = await open(partial, 'a');
  try {
    let bytes = (await handle.stat()).size;
    let lastCheckpoint = performance.now();
    const every = (o.checkpointEvery ?? 2) * 1000;
    for (let i = start; i < o.queries.length; i += batchSize) {
      throwIfAborted(o.signal, 'mining run');
      const batch = o.queries.slice(i, i + batchSize);
      const examples = await mineBatch(batch, o.qrels, o.docs, o.teachers, options, ensemble, stats, o.oracle, o.signal);
      let chunk = '';
      for (const mined of examples) {
        let ex = mined;
        if (tuple) {
          const fitted = fitTuple(mined, options.negatives, pad);
          const rows = mined.positives.length;
          if (!fitted) {
            stats.tuples.droppedQueries++;
            stats.tuples.droppedRows += rows;
            continue;
          }
          if (fitted.padded) {
            stats.tuples.paddedQueries++;
            stats.tuples.paddedRows += rows;
          }
          ex = fitted.example;
        }
        for (const row of formatExample(ex, o.format, o.docs)) chunk += `${JSON.stringify(row)}\n`;
      }
      if (chunk) {
        const buf = Buffer.from(chunk);
        await handle.write(buf);
        bytes += buf.length;
      }
      const done = Math.min(i + batchSize, o.queries.length);
      if (done === o.queries.length || performance.now() - lastCheckpoint >= every) {
        // Rows first, then the checkpoint that vouches for them.
        await handle.sync();
        const cp: Checkpoint = { version: CHECKPOINT_VERSION, fingerprint, queriesDone: done, bytes, stats: stats.toJSON() };
        await writeFileAtomic(checkpointFile, JSON.stringify(cp));
        lastCheckpoint = performance.now();
      }
      o.onProgress?.({ phase: 'mine', done, total: o.queries.length });
    }
  } finally {
    await handle.close();
  }
  if (existsSync(o.out) && !o.overwrite) {
    throw new InputError(`${o.out} appeared while mining; the result is in ${partial}. Move one of them, or pass overwrite: true.`, { out: o.out });
  }
  await rename(partial, o.out);
  await rm(checkpointFile, { force: true });
  return { report: stats.report(), resumedFrom };
}
