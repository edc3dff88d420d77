import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Small corpora for the empty-document and missing-title cases (issue #15, items 6 and 15b):
 * the first SciFact docs plus Cranfield-like empty docs (Cranfield id 471 has an empty title
 * and text), a whitespace-only one and a punctuation-only one. Every retriever must index
 * them and never return them; real docs must still be found by a query from their own text.
 */
export interface FixtureDoc {
  id: string;
  title: string;
  text: string;
}

const SCIFACT_CORPUS = join(__dirname, '../../datasets/scifact/corpus.jsonl.gz');

/** Ids of the docs with no content: nothing a retriever may match. */
export const EMPTY_IDS = ['471', '472', '473'] as const;

/** Cranfield-like empty docs: empty title and text, whitespace only, punctuation only. */
export const EMPTY_DOCS: readonly FixtureDoc[] = [
  { id: '471', title: '', text: '' },
  { id: '472', title: '', text: ' \n\t ' },
  { id: '473', title: '', text: '... -- ; !! ()' },
];

/** The first `n` SciFact docs (title and text as shipped). */
export function scifactDocs(n = 24): FixtureDoc[] {
  const lines = gunzipSync(readFileSync(SCIFACT_CORPUS)).toString('utf8').split('\n');
  const out: FixtureDoc[] = [];
  for (const line of lines) {
    if (out.length >= n) break;
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { _id: string; title?: string; text?: string };
    out.push({ id: r._id, title: r.title ?? '', text: r.text ?? '' });
  }
  return out;
}

/** Real docs with the empty docs placed among them (not only at the end, so row numbers shift). */
export function withEmptyDocs(real: readonly FixtureDoc[]): FixtureDoc[] {
  const mid = Math.floor(real.length / 2);
  return [EMPTY_DOCS[0]!, ...real.slice(0, mid), EMPTY_DOCS[1]!, ...real.slice(mid), EMPTY_DOCS[2]!];
}

/** The same docs with every title empty (MS MARCO passages, NPL). */
export function withoutTitles(docs: readonly FixtureDoc[]): FixtureDoc[] {
  return docs.map((d) => ({ ...d, title: '' }));
}

/** The same docs with every text empty but the titles kept. */
export function withoutTexts(docs: readonly FixtureDoc[]): FixtureDoc[] {
  return docs.map((d) => ({ ...d, text: '' }));
}

/** A query taken from a doc's own words: `count` words of its text (or of its title when the text is empty), from word `from`. */
export function ownTextQuery(doc: FixtureDoc, count = 12, from = 0): string {
  const words = (doc.text.trim() ? doc.text : doc.title).split(/\s+/).filter(Boolean);
  return words.slice(from, from + count).join(' ');
}

/** The three corpora every retriever is checked on: empty docs among real ones; all titles empty; all texts empty. */
export function emptyDocCorpora(n = 24): { name: string; docs: FixtureDoc[]; real: FixtureDoc[] }[] {
  const real = scifactDocs(n);
  return [
    { name: 'with empty docs', docs: withEmptyDocs(real), real },
    { name: 'without titles', docs: withEmptyDocs(withoutTitles(real)), real: withoutTitles(real) },
    { name: 'without texts', docs: withEmptyDocs(withoutTexts(real)), real: withoutTexts(real) },
  ];
}

/** Queries that must find each doc at rank 1 or at least in the top `k`: picked docs of `real`. */
export function probeDocs(real: readonly FixtureDoc[], count = 4): FixtureDoc[] {
  const step = Math.max(1, Math.floor(real.length / count));
  return real.filter((_, i) => i % step === 0).slice(0, count);
}

/** What the per-retriever checks need: a search returning ids in rank order. */
export type SearchIds = (query: string, k: number) => Promise<string[]>;

/**
 * Searches with a query from each probe doc's own text at k = corpus size: no empty doc
 * may come back (a hit list may then hold fewer than k hits), and the probe doc must rank
 * within `within`. Returns the ranks found, for the caller's own asserts.
 */
export async function checkEmptyDocs(search: SearchIds, docs: readonly FixtureDoc[], real: readonly FixtureDoc[], within = 3): Promise<number[]> {
  const empty = new Set<string>(EMPTY_IDS);
  const ranks: number[] = [];
  for (const doc of probeDocs(real)) {
    const ids = await search(ownTextQuery(doc), docs.length);
    const leaked = ids.filter((id) => empty.has(id));
    if (leaked.length > 0) throw new Error(`empty docs ${leaked.join(', ')} were returned for a query from doc ${doc.id}`);
    const rank = ids.indexOf(doc.id);
    if (rank < 0 || rank >= within) throw new Error(`doc ${doc.id} ranked ${rank < 0 ? 'nowhere' : rank + 1} (want <= ${within}) for a query from its own text`);
    ranks.push(rank + 1);
  }
  // Queries with no content of their own must not surface empty docs either.
  for (const q of ['', '... !!']) {
    const ids = await search(q, docs.length).catch(() => [] as string[]);
    const leaked = ids.filter((id) => empty.has(id));
    if (leaked.length > 0) throw new Error(`empty docs ${leaked.join(', ')} were returned for the query ${JSON.stringify(q)}`);
  }
  return ranks;
}
