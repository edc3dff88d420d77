import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, DuplicateIdError } from './errors.js';
import { readJsonLines, readLines, type ReadLinesOptions } from './lines.js';
import type { Qrels } from './metrics.js';
import type { Doc, Query } from './types.js';

/**
 * A dataset in the BEIR layout: `corpus.jsonl[.gz]`, `queries.jsonl[.gz]` and
 * `qrels/<split>.tsv[.gz]` (header `query-id corpus-id score`).
 */
export interface BeirDataset {
  dir: string;
  corpusFile: string;
  /** Absent when the folder has no queries: indexing and searching need none, evaluation does. */
  queriesFile?: string;
  /** Split name -> qrels file. */
  qrelsFiles: Record<string, string>;
}

export function openBeirDataset(dir: string): BeirDataset {
  if (!existsSync(dir)) throw new DatasetError('DATASET_NOT_FOUND', 'dataset folder not found (expected a BEIR folder with corpus.jsonl, queries.jsonl, qrels/)', dir);
  const corpusFile = findFile(dir, 'corpus.jsonl');
  const queriesFile = findOptionalFile(dir, 'queries.jsonl');
  const qrelsDir = join(dir, 'qrels');
  const found = new Map<string, string>();
  if (existsSync(qrelsDir)) {
    for (const name of readdirSync(qrelsDir)) {
      const m = /^(.+)\.tsv(\.gz)?$/.exec(name);
      // Prefer the uncompressed file when both exist.
      if (m && (!found.has(m[1]!) || !m[2])) found.set(m[1]!, join(qrelsDir, name));
    }
  }
  const qrelsFiles: Record<string, string> = Object.fromEntries([...found].sort(([a], [b]) => (a < b ? -1 : 1)));
  return queriesFile ? { dir, corpusFile, queriesFile, qrelsFiles } : { dir, corpusFile, qrelsFiles };
}

function findFile(dir: string, name: string): string {
  const file = findOptionalFile(dir, name);
  if (!file) throw new DatasetError('DATASET_NOT_FOUND', `missing ${name} (or ${name}.gz)`, dir);
  return file;
}

function findOptionalFile(dir: string, name: string): string | undefined {
  for (const candidate of [name, `${name}.gz`]) {
    const file = join(dir, candidate);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Options of `readCorpus`: see `ReadLinesOptions` for invalid UTF-8. */
export type ReadCorpusOptions = ReadLinesOptions;

/**
 * Streams the corpus; each line must be `{"_id": string, "title"?: string, "text": string}`.
 * Fails (naming file and line) on invalid UTF-8 unless allowed, on an id used twice
 * (`DuplicateIdError` naming both lines), and on a corpus with no document at all.
 */
export async function* readCorpus(file: string, options: ReadCorpusOptions = {}): AsyncGenerator<Doc> {
  const seen = new Map<string, number>();
  for await (const [n, obj] of readJsonLines(file, options)) {
    const id = obj['_id'] ?? obj['id'];
    const text = obj['text'];
    if (typeof id !== 'string' && typeof id !== 'number') throw new DatasetError('DATASET_MALFORMED', 'document has no "_id"', file, n);
    if (typeof text !== 'string') throw new DatasetError('DATASET_MALFORMED', `document "${id}" has no string "text"`, file, n);
    const key = String(id);
    const first = seen.get(key);
    if (first !== undefined) throw new DuplicateIdError(key, 'corpus', { file, line: n, firstLine: first });
    seen.set(key, n);
    const title = obj['title'];
    const doc: Doc = { id: key, text };
    if (typeof title === 'string' && title !== '') doc.title = title;
    if (obj['metadata'] && typeof obj['metadata'] === 'object') doc.meta = obj['metadata'] as Record<string, unknown>;
    yield doc;
  }
  if (seen.size === 0) throw new DatasetError('DATASET_MALFORMED', 'the corpus holds no documents; add lines of {"_id": "...", "text": "..."} (one JSON object per line)', file);
}

/** Streams queries; each line must be `{"_id": string, "text": string}`. */
export async function* readQueries(file: string): AsyncGenerator<Query> {
  for await (const [n, obj] of readJsonLines(file)) {
    const id = obj['_id'] ?? obj['id'];
    const text = obj['text'];
    if (typeof id !== 'string' && typeof id !== 'number') throw new DatasetError('DATASET_MALFORMED', 'query has no "_id"', file, n);
    if (typeof text !== 'string') throw new DatasetError('DATASET_MALFORMED', `query "${id}" has no string "text"`, file, n);
    yield { id: String(id), text };
  }
}

/**
 * Reads qrels in BEIR TSV form (`query-id<TAB>corpus-id<TAB>score`, optional header)
 * or TREC form (`qid 0 docid rel`, whitespace separated), detected per line.
 */
export async function readQrels(file: string): Promise<Qrels> {
  const qrels: Qrels = new Map();
  for await (const [n, line] of readLines(file)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const parts = trimmed.split(/\s+/);
    let qid: string, docid: string, rel: string;
    if (parts.length === 3) [qid, docid, rel] = parts as [string, string, string];
    else if (parts.length === 4) [qid, , docid, rel] = parts as [string, string, string, string];
    else throw new DatasetError('DATASET_MALFORMED', `expected "query-id corpus-id score" or "qid 0 docid rel", got ${parts.length} fields`, file, n);
    const grade = Number(rel);
    if (!Number.isFinite(grade)) {
      if (n === 1) continue; // header line
      throw new DatasetError('DATASET_MALFORMED', `relevance "${rel}" is not a number`, file, n);
    }
    let judged = qrels.get(qid);
    if (!judged) qrels.set(qid, (judged = new Map()));
    judged.set(docid, grade);
  }
  return qrels;
}

/** Loads the queries of one split: those with qrels in `qrels/<split>.tsv`, in file order. */
export async function loadSplit(dataset: BeirDataset, split: string): Promise<{ queries: Query[]; qrels: Qrels }> {
  const qrelsFile = dataset.qrelsFiles[split];
  if (!qrelsFile) {
    const known = Object.keys(dataset.qrelsFiles);
    throw new DatasetError('DATASET_NOT_FOUND', `no qrels for split "${split}"; available splits: ${known.join(', ') || '(none)'}`, join(dataset.dir, 'qrels'));
  }
  if (!dataset.queriesFile)
    throw new DatasetError('DATASET_NOT_FOUND', `missing queries.jsonl (or queries.jsonl.gz); evaluating split "${split}" needs the queries as well as qrels/${split}.tsv`, dataset.dir);
  const qrels = await readQrels(qrelsFile);
  const queries: Query[] = [];
  for await (const q of readQueries(dataset.queriesFile)) if (qrels.has(q.id)) queries.push(q);
  const found = new Set(queries.map((q) => q.id));
  const missing = [...qrels.keys()].filter((id) => !found.has(id));
  if (missing.length) throw new DatasetError('DATASET_MALFORMED', `${missing.length} qrels queries are missing from ${dataset.queriesFile} (e.g. "${missing[0]}")`, qrelsFile);
  return { queries, qrels };
}
