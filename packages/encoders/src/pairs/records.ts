import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SeededRandom, hashString, writeFileAtomic, type Doc, type Qrels, type Query } from '@quarry/core';

/**
 * One training pair as the trainers read it (`readTrainingExamples`): a query, its positive
 * and hard negatives, written as `{"query","positive","negative_1",...}` (sentence-transformers
 * layout). `queryId`/`positiveId` never reach the JSONL: they go to the manifest beside it, so
 * the contamination guard can check ids as well as texts.
 */
export interface PairRecord {
  query: string;
  positive: string;
  negatives: string[];
  /** Where the query came from: a SciFact query id, or a synthetic id (`ict:<doc>:<k>`, `wn:<synset>`). */
  queryId?: string;
  /** The positive's document id, when the positive is a corpus document. */
  positiveId?: string;
}

/** What a generator wrote: the JSONL file, its manifest, and counts. */
export interface PairsManifest {
  format: 'quarry-pairs';
  version: 1;
  /** Generator name, e.g. `inverse-cloze`, `wordnet`, `supervised`, `mix`. */
  source: string;
  seed: number;
  count: number;
  /** Options the generator ran with (JSON-safe). */
  options: Record<string, unknown>;
  /** Records the generator dropped before writing, per reason (e.g. a test query's text). */
  dropped: Record<string, number>;
  /** Query id of each line (same order), where the source has ids. */
  queryIds?: (string | null)[];
  /** Positive document id of each line, where the positive is a corpus document. */
  positiveIds?: (string | null)[];
  /** The splits the contamination guard checked this file against. */
  guardedAgainst: string[];
}

/** The manifest written beside a pairs file. */
export function manifestPath(file: string): string {
  return `${file.replace(/\.gz$/, '')}.manifest.json`;
}

/** One JSONL line in the trainers' layout. */
export function recordLine(r: PairRecord): string {
  const o: Record<string, string> = { query: r.query, positive: r.positive };
  r.negatives.forEach((n, k) => {
    o[`negative_${k + 1}`] = n;
  });
  return JSON.stringify(o);
}

/** Writes the pairs (gzipped when `file` ends in .gz) and their manifest, each atomically. */
export async function writePairs(file: string, records: readonly PairRecord[], manifest: Omit<PairsManifest, 'format' | 'version' | 'count' | 'queryIds' | 'positiveIds'>): Promise<PairsManifest> {
  mkdirSync(dirname(file), { recursive: true });
  const body = records.length ? `${records.map(recordLine).join('\n')}\n` : '';
  await writeFileAtomic(file, file.endsWith('.gz') ? gzipSync(body) : body);
  const full: PairsManifest = {
    format: 'quarry-pairs',
    version: 1,
    ...manifest,
    count: records.length,
    queryIds: records.map((r) => r.queryId ?? null),
    positiveIds: records.map((r) => r.positiveId ?? null),
  };
  await writeFileAtomic(manifestPath(file), `${JSON.stringify(full)}\n`);
  return full;
}

/**
 * Chooses hard negatives for queries whose positives are given as qrels. Generators take
 * one of these so that the mining method is a choice of the caller: `randomNegatives`
 * here, or NV-Retriever positive-aware mining with `@quarry/mining` (see tools/build-pairs.mjs,
 * which wraps `mineBatch` with a BM25 teacher into this interface).
 */
export interface NegativeMiner {
  readonly name: string;
  /** Negative document ids per query id; a query's positives are never among them. */
  mine(queries: readonly Query[], positives: Qrels): Promise<Map<string, string[]>>;
}

/** `count` documents drawn uniformly per query (seeded by seed and query id), never a positive. */
export function randomNegatives(docIds: readonly string[], count: number, seed: number): NegativeMiner {
  return {
    name: `random(${count})`,
    async mine(queries, positives) {
      const out = new Map<string, string[]>();
      for (const q of queries) {
        const pos = positives.get(q.id);
        const rng = new SeededRandom(hashString(`${seed}:${q.id}`));
        const picked: string[] = [];
        const seen = new Set<string>();
        for (let tries = 0; picked.length < count && tries < count * 20; tries++) {
          const id = docIds[rng.int(docIds.length)]!;
          if (seen.has(id) || (pos && (pos.get(id) ?? 0) > 0)) continue;
          seen.add(id);
          picked.push(id);
        }
        out.set(q.id, picked);
      }
      return out;
    },
  };
}

/** Title and text joined, as retrievers index a document. */
export function fullText(doc: Doc): string {
  return doc.title ? `${doc.title} ${doc.text}` : doc.text;
}
