import { InputError, SeededRandom, hashString, type Doc, type Qrels, type Query } from '@quarry/core';
import type { ContaminationGuard } from './guard.js';
import { fullText, type NegativeMiner, type PairRecord } from './records.js';

/** Sentences of a text: split after . ! ? before an upper-case letter, digit or bracket. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z0-9([])/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface InverseClozeOptions {
  /** Sentences drawn as queries per document (default 2; fewer when the document has fewer). */
  perDoc?: number;
  /** Shortest sentence used as a query, in characters (default 40). */
  minSentenceChars?: number;
  /**
   * Probability that the query sentence stays in its context (default 0.1: ICT removes it 90%
   * of the time, so the model learns both lexical match and context; Lee et al. 2019).
   */
  keepSentence?: number;
  /** Prefix the context with the document's title (default true). */
  title?: boolean;
  seed?: number;
}

export interface CropOptions {
  /** Pairs of crops per document (default 2). */
  perDoc?: number;
  /** Each crop's length as a fraction of the document's words, drawn uniformly in [min, max] (Contriever: 0.1-0.5). */
  minRatio?: number;
  maxRatio?: number;
  /** Shortest crop in words (default 8); documents shorter than two such crops are skipped. */
  minWords?: number;
  seed?: number;
}

/** Common options of the corpus generators' negatives. */
export interface CorpusNegativeOptions {
  /** Chooses negatives with the document as the only positive (default: none). */
  miner?: NegativeMiner;
  /** Drops a pair whose query is a held-out query (counted in `dropped`); the written file is checked again. */
  guard?: ContaminationGuard;
}

export interface GeneratedPairs {
  records: PairRecord[];
  dropped: Record<string, number>;
}

/**
 * Inverse cloze task (Lee et al., 2019): a sentence of a document is the query, the rest of
 * the document (title included) the positive. No query of any split is used.
 */
export async function inverseClozePairs(docs: readonly Doc[], options: InverseClozeOptions & CorpusNegativeOptions = {}): Promise<GeneratedPairs> {
  const perDoc = options.perDoc ?? 2;
  const minChars = options.minSentenceChars ?? 40;
  const keep = options.keepSentence ?? 0.1;
  const withTitle = options.title ?? true;
  const seed = options.seed ?? 13;
  if (perDoc < 1 || keep < 0 || keep > 1) throw new InputError('inverseClozePairs: perDoc must be >= 1 and keepSentence in [0, 1].');
  const records: PairRecord[] = [];
  for (const d of docs) {
    const sentences = splitSentences(d.text);
    const usable = sentences.map((s, i) => [s, i] as const).filter(([s]) => s.length >= minChars);
    if (sentences.length < 2 || usable.length === 0) continue;
    const rng = new SeededRandom(hashString(`${seed}:ict:${d.id}`));
    rng.shuffle(usable as (readonly [string, number])[]);
    for (let k = 0; k < Math.min(perDoc, usable.length); k++) {
      const [sentence, at] = usable[k]!;
      const rest = (rng.next() < keep ? sentences : sentences.filter((_, j) => j !== at)).join(' ');
      records.push({ query: sentence, positive: withTitle && d.title ? `${d.title} ${rest}` : rest, negatives: [], queryId: `ict:${d.id}:${k}`, positiveId: d.id });
    }
  }
  return finish(records, docs, options);
}

/**
 * Independent cropping (Contriever, Izacard et al., 2022): two random spans of the same
 * document, each 10-50% of its words by default, form a positive pair.
 */
export async function independentCropPairs(docs: readonly Doc[], options: CropOptions & CorpusNegativeOptions = {}): Promise<GeneratedPairs> {
  const perDoc = options.perDoc ?? 2;
  const minRatio = options.minRatio ?? 0.1;
  const maxRatio = options.maxRatio ?? 0.5;
  const minWords = options.minWords ?? 8;
  const seed = options.seed ?? 13;
  if (!(minRatio > 0 && minRatio <= maxRatio && maxRatio <= 1)) throw new InputError('independentCropPairs: need 0 < minRatio <= maxRatio <= 1.');
  const records: PairRecord[] = [];
  for (const d of docs) {
    const words = fullText(d).split(/\s+/).filter(Boolean);
    if (words.length < 2 * minWords) continue;
    const rng = new SeededRandom(hashString(`${seed}:crop:${d.id}`));
    const crop = (): string => {
      const ratio = minRatio + rng.next() * (maxRatio - minRatio);
      const len = Math.min(words.length, Math.max(minWords, Math.round(ratio * words.length)));
      const start = rng.int(words.length - len + 1);
      return words.slice(start, start + len).join(' ');
    };
    for (let k = 0; k < perDoc; k++) records.push({ query: crop(), positive: crop(), negatives: [], queryId: `crop:${d.id}:${k}`, positiveId: d.id });
  }
  return finish(records, docs, options);
}

/** Title -> abstract (the shipped static model's first self-supervised source): one pair per document with both. */
export async function titleBodyPairs(docs: readonly Doc[], options: CorpusNegativeOptions = {}): Promise<GeneratedPairs> {
  const records: PairRecord[] = [];
  for (const d of docs) if (d.title?.trim() && d.text.trim()) records.push({ query: d.title, positive: d.text, negatives: [], queryId: `title:${d.id}`, positiveId: d.id });
  return finish(records, docs, options);
}

/** Guard filter, then negatives from the miner (the source document is the only positive). */
async function finish(all: PairRecord[], docs: readonly Doc[], options: CorpusNegativeOptions): Promise<GeneratedPairs> {
  const dropped: Record<string, number> = {};
  const records: PairRecord[] = [];
  for (const r of all) {
    if (options.guard?.queryTextViolation(r.query)) dropped['held-out query text'] = (dropped['held-out query text'] ?? 0) + 1;
    else records.push(r);
  }
  if (options.miner) await attachNegatives(records, docs, options.miner);
  return { records, dropped };
}

/** Asks `miner` for negatives of each record (query id, positive doc id) and fills in their texts. */
export async function attachNegatives(records: PairRecord[], docs: readonly Doc[] | ReadonlyMap<string, Doc>, miner: NegativeMiner): Promise<void> {
  const byId = docs instanceof Map ? (docs as ReadonlyMap<string, Doc>) : new Map((docs as readonly Doc[]).map((d) => [d.id, d]));
  const queries: Query[] = [];
  const qrels: Qrels = new Map();
  for (const r of records) {
    if (!r.queryId || !r.positiveId) throw new InputError('attachNegatives needs records with queryId and positiveId.');
    const judged = qrels.get(r.queryId) ?? new Map<string, number>();
    if (!qrels.has(r.queryId)) queries.push({ id: r.queryId, text: r.query });
    judged.set(r.positiveId, 1);
    qrels.set(r.queryId, judged);
  }
  const mined = await miner.mine(queries, qrels);
  for (const r of records) {
    r.negatives = (mined.get(r.queryId!) ?? []).filter((id) => id !== r.positiveId && byId.has(id)).map((id) => fullText(byId.get(id)!));
  }
}
