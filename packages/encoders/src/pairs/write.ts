import type { GeneratedPairs } from './corpus.js';
import type { ContaminationGuard, GuardReport } from './guard.js';
import { writePairs, type PairsManifest } from './records.js';

export interface WriteGuardedOptions {
  /** Required: the records, then the written file (with its manifest), are checked against the held-out splits. */
  guard: ContaminationGuard;
  /** Generator name stored in the manifest. */
  source: string;
  seed: number;
  options?: Record<string, unknown>;
}

/**
 * Writes a generator's pairs (JSONL, gzipped for .gz) and manifest, then reads the file back
 * through the contamination guard: a contaminated record throws `ContaminationError` before the
 * file is written, and the file as the trainers will read it is checked again after.
 */
export async function writeGuardedPairs(file: string, generated: GeneratedPairs, o: WriteGuardedOptions): Promise<{ manifest: PairsManifest; guard: GuardReport }> {
  o.guard.assertClean(generated.records, `${o.source} -> ${file}`);
  const manifest = await writePairs(file, generated.records, { source: o.source, seed: o.seed, options: o.options ?? {}, dropped: generated.dropped, guardedAgainst: o.guard.splits });
  return { manifest, guard: await o.guard.checkFile(file) };
}
