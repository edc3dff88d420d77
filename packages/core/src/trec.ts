import { DatasetError } from './errors.js';
import { readLines } from './lines.js';
import type { Run } from './metrics.js';
import type { Hit } from './types.js';

/**
 * Formats a run in TREC format (`qid Q0 docid rank score tag`). Scores are written
 * in full precision so that re-reading the file ranks exactly as in memory.
 */
export function formatTrecRun(run: Run, tag = 'quarry'): string {
  const lines: string[] = [];
  for (const [qid, hits] of run) {
    const sorted = [...hits].sort((a, b) => b.score - a.score);
    sorted.forEach((h, i) => lines.push(`${qid} Q0 ${h.id} ${i + 1} ${h.score} ${tag}`));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export async function readTrecRun(file: string): Promise<Run> {
  const run = new Map<string, Hit[]>();
  for await (const [n, line] of readLines(file)) {
    if (line.trim() === '') continue;
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 6) throw new DatasetError('RUN_MALFORMED', `expected "qid Q0 docid rank score tag", got ${parts.length} fields`, file, n);
    const score = Number(parts[4]);
    if (!Number.isFinite(score)) throw new DatasetError('RUN_MALFORMED', `score "${parts[4]}" is not a number`, file, n);
    let hits = run.get(parts[0]!);
    if (!hits) run.set(parts[0]!, (hits = []));
    hits.push({ id: parts[2]!, score });
  }
  return run;
}
