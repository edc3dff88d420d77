import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InputError, QuarryError, openBeirDataset, readJsonLines, readQrels, readQueries } from '@quarry/core';
import { manifestPath, type PairRecord, type PairsManifest } from './records.js';

/** A training input holds a held-out (test) query or one of its qrels. Never catch this to carry on. */
export class ContaminationError extends QuarryError {
  constructor(
    readonly source: string,
    readonly violations: readonly string[],
  ) {
    super(
      'INPUT_INVALID',
      `${source}: training data contaminated by held-out evaluation data (${violations.length} violation${violations.length === 1 ? '' : 's'}), first: ${violations.slice(0, 3).join('; ')}. ` +
        'Held-out queries and their qrels must never reach a training input; regenerate the file without them.',
      { source, violations: violations.slice(0, 50) },
    );
  }
}

/** Lowercase, letters and digits only, single spaces: the form texts are compared in. */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Queries shorter than this (normalized) are compared for equality only, not searched for inside longer texts. */
const MIN_CONTAINED = 24;

/** What `checkFile` found: lines checked and the splits guarded against. */
export interface GuardReport {
  file: string;
  lines: number;
  splits: string[];
  manifestChecked: boolean;
}

/**
 * The held-out side of a dataset (by default SciFact's `test` and `test-unseen`): query ids,
 * query texts and their (query, document) qrels. A training pair is contaminated when its query
 * is a held-out query (same id, same text after normalization, or containing a held-out query's
 * text), or when it pairs a held-out query with one of its judged documents. Documents alone are
 * allowed: they are the corpus every retriever indexes.
 */
export class ContaminationGuard {
  readonly splits: string[];
  readonly #ids = new Set<string>();
  readonly #texts = new Map<string, string>();
  readonly #long: [string, string][] = [];
  readonly #pairs = new Set<string>();

  constructor(splits: string[], queries: readonly { id: string; text: string }[], qrels: ReadonlyMap<string, ReadonlyMap<string, number>>) {
    this.splits = splits;
    for (const [qid, judged] of qrels) {
      this.#ids.add(qid);
      for (const docId of judged.keys()) this.#pairs.add(`${qid}\t${docId}`);
    }
    for (const q of queries) {
      if (!this.#ids.has(q.id)) continue;
      const n = normalizeText(q.text);
      if (!n) continue;
      this.#texts.set(n, q.id);
      if (n.length >= MIN_CONTAINED) this.#long.push([n, q.id]);
    }
  }

  /** The guard for a BEIR folder's held-out splits (each must exist, with its queries). */
  static async fromBeir(dir: string, splits: readonly string[] = ['test', 'test-unseen']): Promise<ContaminationGuard> {
    const dataset = openBeirDataset(dir);
    if (!dataset.queriesFile) throw new InputError(`${dir} has no queries file: the contamination guard needs the held-out queries' texts.`);
    const qrels = new Map<string, Map<string, number>>();
    for (const split of splits) {
      const file = dataset.qrelsFiles[split];
      if (!file) throw new InputError(`${dir} has no qrels for split "${split}" (found: ${Object.keys(dataset.qrelsFiles).join(', ')}); the guard cannot check against it.`);
      for (const [qid, judged] of await readQrels(file)) {
        const into = qrels.get(qid) ?? new Map<string, number>();
        for (const [d, g] of judged) into.set(d, g);
        qrels.set(qid, into);
      }
    }
    const queries: { id: string; text: string }[] = [];
    for await (const q of readQueries(dataset.queriesFile)) if (qrels.has(q.id)) queries.push(q);
    return new ContaminationGuard([...splits], queries, qrels);
  }

  /** Held-out query ids guarded against. */
  get queryCount(): number {
    return this.#ids.size;
  }

  /** Why this query text is a held-out query, or undefined when it is not. */
  queryTextViolation(text: string): string | undefined {
    const n = normalizeText(text);
    const same = this.#texts.get(n);
    if (same !== undefined) return `query text is held-out query ${same}`;
    if (n.length >= MIN_CONTAINED) {
      for (const [t, id] of this.#long) if (n.includes(t)) return `query text contains held-out query ${id}`;
    }
    return undefined;
  }

  /** Why this query id is held out, or undefined. */
  queryIdViolation(id: string): string | undefined {
    return this.#ids.has(id) ? `query id ${id} is a held-out query (${this.splits.join('/')})` : undefined;
  }

  /** Every reason this record is contaminated (empty when clean). */
  violations(r: Pick<PairRecord, 'query' | 'queryId' | 'positiveId'>): string[] {
    const out: string[] = [];
    const text = this.queryTextViolation(r.query);
    if (text) out.push(text);
    if (r.queryId !== undefined) {
      const id = this.queryIdViolation(r.queryId);
      if (id) out.push(id);
      if (r.positiveId !== undefined && this.#pairs.has(`${r.queryId}\t${r.positiveId}`)) out.push(`(${r.queryId}, ${r.positiveId}) is a held-out qrel`);
    }
    return out;
  }

  /** Throws `ContaminationError` when any record is contaminated. */
  assertClean(records: readonly PairRecord[], source: string): void {
    const found: string[] = [];
    records.forEach((r, i) => {
      for (const v of this.violations(r)) found.push(`record ${i + 1}: ${v}`);
    });
    if (found.length) throw new ContaminationError(source, found);
  }

  /**
   * Checks a pairs file as the trainers will read it (every line's query) and, when a manifest
   * lies beside it, the query and positive ids it records. Throws `ContaminationError`.
   */
  async checkFile(file: string): Promise<GuardReport> {
    const found: string[] = [];
    let lines = 0;
    for await (const [line, obj] of readJsonLines(file)) {
      lines++;
      const query = obj['query'] ?? obj['anchor'];
      if (typeof query !== 'string') {
        found.push(`line ${line}: no string "query" field`);
        continue;
      }
      const v = this.queryTextViolation(query);
      if (v) found.push(`line ${line}: ${v}`);
    }
    const mfile = manifestPath(file);
    let manifestChecked = false;
    if (existsSync(mfile)) {
      const m = JSON.parse(await readFile(mfile, 'utf8')) as PairsManifest;
      manifestChecked = true;
      if (m.count !== lines) found.push(`manifest ${mfile} says ${m.count} lines, the file has ${lines}`);
      (m.queryIds ?? []).forEach((qid, i) => {
        if (qid === null) return;
        for (const v of this.violations({ query: '', queryId: qid, ...(m.positiveIds?.[i] ? { positiveId: m.positiveIds[i]! } : {}) })) found.push(`line ${i + 1} (manifest): ${v}`);
      });
    }
    if (found.length) throw new ContaminationError(file, found);
    return { file, lines, splits: this.splits, manifestChecked };
  }
}
