import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InputError, SeededRandom, hashString } from '@quarry/core';
import { readTrainingExamples } from '../training-data.js';
import type { ContaminationGuard } from './guard.js';
import { manifestPath, writePairs, type PairRecord, type PairsManifest } from './records.js';

export interface MixSource {
  /** A pairs file (JSONL or .jsonl.gz), with its manifest beside it when a generator wrote it. */
  file: string;
  /** Share of the mixed file (any positive weights; normalised). */
  share: number;
  /** Name in the manifest (default the file). */
  name?: string;
}

export interface MixOptions {
  sources: readonly MixSource[];
  out: string;
  /** Required: the mixed file is checked like every generator's output. */
  guard: ContaminationGuard;
  /**
   * Lines in the mixed file. Default: the most that the stated shares allow without repeating a
   * line of any source. A larger total repeats lines (each source reshuffled per pass).
   */
  total?: number;
  seed?: number;
}

export interface MixResult {
  manifest: PairsManifest;
  /** Lines taken from each source, in `sources` order. */
  counts: number[];
}

async function readSource(file: string): Promise<PairRecord[]> {
  const records: PairRecord[] = [];
  for await (const ex of readTrainingExamples([file])) records.push({ query: ex.query, positive: ex.positive, negatives: ex.negatives });
  const mfile = manifestPath(file);
  if (existsSync(mfile)) {
    const m = JSON.parse(await readFile(mfile, 'utf8')) as PairsManifest;
    records.forEach((r, i) => {
      const q = m.queryIds?.[i];
      const p = m.positiveIds?.[i];
      if (q) r.queryId = q;
      if (p) r.positiveId = p;
    });
  }
  return records;
}

/**
 * Mixes pairs files with stated proportions into one shuffled file (seeded), writing a manifest
 * with the share and count of each source. Every input and the output pass the contamination guard.
 */
export async function mixPairs(o: MixOptions): Promise<MixResult> {
  if (o.sources.length === 0) throw new InputError('mixPairs needs at least one source.');
  const seed = o.seed ?? 13;
  const weights = o.sources.map((s) => s.share);
  if (weights.some((w) => !(w > 0))) throw new InputError('mixPairs: every share must be > 0.');
  const sum = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((w) => w / sum);
  const data: PairRecord[][] = [];
  for (const s of o.sources) {
    await o.guard.checkFile(s.file);
    const records = await readSource(s.file);
    if (records.length === 0) throw new InputError(`${s.file} holds no pairs.`);
    data.push(records);
  }
  const total = o.total ?? Math.floor(Math.min(...data.map((d, i) => d.length / shares[i]!)));
  const counts = shares.map((p) => Math.round(p * total));
  const out: PairRecord[] = [];
  data.forEach((records, i) => {
    const rng = new SeededRandom(hashString(`${seed}:mix:${i}`));
    let order: PairRecord[] = [];
    for (let k = 0; k < counts[i]!; k++) {
      if (k % records.length === 0) order = rng.shuffle([...records]);
      out.push(order[k % records.length]!);
    }
  });
  new SeededRandom(hashString(`${seed}:mix`)).shuffle(out);
  o.guard.assertClean(out, o.out);
  const manifest = await writePairs(o.out, out, {
    source: 'mix',
    seed,
    options: { total, sources: o.sources.map((s, i) => ({ name: s.name ?? s.file, share: shares[i], count: counts[i], available: data[i]!.length })) },
    dropped: {},
    guardedAgainst: o.guard.splits,
  });
  await o.guard.checkFile(o.out);
  return { manifest, counts };
}
