import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  IndexCorruptError,
  checkOptions,
  runtimeOptionsShape,
  z,
  InputError,
  isBlankDoc,
  openIndexDir,
  reciprocalRankFusion,
  saveIndexDir,
  sha256,
  throwIfAborted,
  type Doc,
  type DocStore,
  type Hit,
  type NextTokenScorer,
  type ProgressCallback,
  type Query,
  type Retriever,
  type SearchOptions,
} from '@quarry/core';
import { constrainedBeamSearch, type AllowedTokenScorer, type DecodingConstraint, type Hypothesis } from './beam.js';
import type { TokenCodec } from './corpus-scorer.js';
import { FmIndex, type FmRange } from './fm-index.js';
import { TokenTrie, type TrieNode } from './trie.js';

export const LLM2GR_FORMAT = 'quarry-llm2gr';
export const LLM2GR_VERSION = 1;

/** The paper's prompts (LLM2GR, Li et al. 2024); `{query}` is replaced by the question. */
export const TITLE_PROMPT = 'Question: {query}\n\nThe Wikipedia article corresponding to the above question is:\n\nTitle:';
export const PASSAGE_PROMPT = 'Question: {query}\n\nThe Wikipedia paragraph to answer the above question is:\n\nAnswer:';

export interface Llm2grOptions {
  /** Stage 1 beam width over the title trie (paper: 15). */
  titleBeam: number;
  /** Titles whose documents go to stage 2 (reference code: 2). */
  keepTitles: number;
  /** Stage 2 beam width over the FM-index of the recalled documents (paper: 10). */
  passageBeam: number;
  /** Tokens of the generated passage prefix (paper: 16). */
  prefixLength: number;
  /** Tokens of the passage taken from where the prefix is located (paper: 150). */
  passageLength: number;
  /** Final score = alpha * title + (1 - alpha) * passage (paper: 0.9). */
  alpha: number;
  /** Longest title (tokens) the trie search follows. */
  maxTitleTokens: number;
  titlePrompt: string;
  passagePrompt: string;
  /** Text the model writes after a title (its single token is scored as the end of a title). */
  titleEnd: string;
  /**
   * 'kept': hits are the documents of the `keepTitles` best titles only (the paper's output);
   * 'all': every title the beam finished, the rest ranked by the same formula with the
   * weakest passage score found (more candidates for nDCG@10).
   */
  hits: 'kept' | 'all';
}

export const DEFAULT_LLM2GR_OPTIONS: Llm2grOptions = {
  titleBeam: 15,
  keepTitles: 2,
  passageBeam: 10,
  prefixLength: 16,
  passageLength: 150,
  alpha: 0.9,
  maxTitleTokens: 64,
  titlePrompt: TITLE_PROMPT,
  passagePrompt: PASSAGE_PROMPT,
  titleEnd: '\n',
  hits: 'all',
};

const d = DEFAULT_LLM2GR_OPTIONS;
/**
 * The generation options as a zod shape, defaults from `DEFAULT_LLM2GR_OPTIONS`: the `llm2gr`
 * plugin's schema spreads it, and `new Llm2grRetriever` checks its options against it (strict),
 * so a misspelled key fails with the closest valid one in code and in pipeline files alike.
 */
export const llm2grGenerationShape = {
  titleBeam: z.number().int().min(1).default(d.titleBeam),
  keepTitles: z.number().int().min(1).default(d.keepTitles),
  passageBeam: z.number().int().min(1).default(d.passageBeam),
  prefixLength: z.number().int().min(1).default(d.prefixLength),
  passageLength: z.number().int().min(1).default(d.passageLength),
  alpha: z.number().min(0).max(1).default(d.alpha),
  maxTitleTokens: z.number().int().min(1).default(d.maxTitleTokens),
  titlePrompt: z.string().default(TITLE_PROMPT),
  passagePrompt: z.string().default(PASSAGE_PROMPT),
  titleEnd: z.string().default(d.titleEnd),
  hits: z.enum(['kept', 'all']).default(d.hits),
};
export const llm2grGenerationSchema = z.strictObject(llm2grGenerationShape);
/** `Llm2grIndex.build(docs, codec, options)`. */
export const llm2grBuildOptionsSchema = z.strictObject({ ...runtimeOptionsShape, total: z.number().int().nonnegative().optional(), sampleRate: z.number().int().min(1).max(1024).optional() });

/**
 * How a hit was generated. 'titles': the paper's two stages. Documents without a title
 * can't be reached through the title trie, so they are generated SEAL-style: a passage
 * prefix constrained by an FM-index over their texts, located to its documents —
 * 'passage-prefix (no titles)' when no document of the corpus has a title (MS MARCO
 * passages, NPL), 'passage-prefix (no title)' for the untitled documents of a corpus
 * where some have one.
 */
export type Llm2grMode = 'titles' | 'passage-prefix (no titles)' | 'passage-prefix (no title)';

/** Occurrences located per generated prefix in the passage-prefix mode (a full-length prefix rarely has more). */
const LOCATE_LIMIT = 100;

/** What one query generated: titles, the passage prefix and passage per recalled document. */
export interface Generation {
  /** Which stages ran: 'titles', 'passage-prefix (no titles)', or both for a corpus where only some documents have titles. */
  modes: Llm2grMode[];
  titles: { title: string; score: number; docs: string[] }[];
  passages: { doc: string; prefix: string; passage: string; score: number; offset: number }[];
  hits: Hit[];
  /** Wall-clock milliseconds spent generating. */
  ms: number;
}

/** The corpus as the decoder sees it: a title trie and an FM-index over the documents' tokens. */
export class Llm2grIndex {
  constructor(
    readonly ids: readonly string[],
    readonly titles: readonly string[],
    readonly trie: TokenTrie,
    readonly fm: FmIndex,
    /** Fingerprint of the tokenizer the index was built with. */
    readonly codecFingerprint: string,
  ) {}

  /** Tokenizes titles (" " + title) and texts (" " + text) with the scorer's tokenizer and builds both structures. */
  static build(docs: Iterable<Doc>, codec: TokenCodec, options: { signal?: AbortSignal; onProgress?: ProgressCallback; total?: number; sampleRate?: number } = {}): Llm2grIndex {
    checkOptions(llm2grBuildOptionsSchema, options, 'Llm2grIndex.build options');
    const ids: string[] = [];
    const titles: string[] = [];
    const titleTokens: number[][] = [];
    const textTokens: number[][] = [];
    const seen = new Set<string>();
    for (const doc of docs) {
      if (seen.has(doc.id)) throw new InputError(`Document id "${doc.id}" appears twice; ids must be unique.`);
      seen.add(doc.id);
      ids.push(doc.id);
      // A document with nothing to match (core's isBlankDoc) gets no title and no text tokens:
      // neither the trie nor the FM-index can generate it, so no search returns it.
      const blank = isBlankDoc(doc);
      const title = blank ? '' : (doc.title ?? '').trim();
      titles.push(title);
      titleTokens.push(title ? codec.encode(` ${title}`) : []);
      textTokens.push(blank ? [] : codec.encode(` ${doc.text}`));
      if (ids.length % 500 === 0) {
        throwIfAborted(options.signal, 'LLM2GR indexing');
        options.onProgress?.({ phase: 'tokenize', done: ids.length, ...(options.total !== undefined ? { total: options.total } : {}) });
      }
    }
    const trie = TokenTrie.build(titleTokens);
    const fm = FmIndex.build(textTokens, { ...(options.sampleRate ? { sampleRate: options.sampleRate } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    return new Llm2grIndex(ids, titles, trie, fm, codecFingerprint(codec));
  }

  async save(dir: string): Promise<void> {
    await saveIndexDir(dir, { format: LLM2GR_FORMAT, version: LLM2GR_VERSION, meta: { docs: this.ids.length, codec: this.codecFingerprint } }, async (tmp) => {
      const fmMeta = await this.fm.writeFiles(tmp);
      await this.trie.writeFiles(tmp);
      await writeFile(join(tmp, 'docs.json'), JSON.stringify({ ids: this.ids, titles: this.titles, fm: fmMeta, codec: this.codecFingerprint }));
    });
  }

  static async load(dir: string): Promise<Llm2grIndex> {
    await openIndexDir(dir, LLM2GR_FORMAT, [LLM2GR_VERSION]);
    let meta: { ids: string[]; titles: string[]; fm: Record<string, unknown>; codec: string };
    try {
      meta = JSON.parse(await readFile(join(dir, 'docs.json'), 'utf8')) as typeof meta;
    } catch (error) {
      throw new IndexCorruptError(`docs.json unreadable (${(error as Error).message})`, dir);
    }
    const fm = await FmIndex.readFiles(dir, meta.fm);
    const trie = await TokenTrie.readFiles(dir);
    if (fm.docCount !== meta.ids.length || meta.titles.length !== meta.ids.length) throw new IndexCorruptError('document counts of docs.json and the FM-index differ', dir);
    return new Llm2grIndex(meta.ids, meta.titles, trie, fm, meta.codec);
  }
}

/** Identifies a tokenizer by its vocabulary size and the ids of a probe text. */
export function codecFingerprint(codec: TokenCodec): string {
  const probe = ' The quick brown fox: 12 µm of p53, naïve Zürich (n=3)\n';
  return sha256(`${codec.vocabSize}|${codec.encode(probe).join(',')}`).slice(0, 16);
}

type Scorer = NextTokenScorer | (NextTokenScorer & AllowedTokenScorer);

const trieConstraint = (trie: TokenTrie): DecodingConstraint<TrieNode> => ({
  next: (node) => {
    const c = trie.children(node);
    return { tokens: c.tokens, states: c.nodes };
  },
  canEnd: (node) => trie.isComplete(node),
});

const fmConstraint = (fm: FmIndex, length: number): DecodingConstraint<FmRange> => ({
  next: (range) => {
    const succ = fm.successors(range);
    return { tokens: Int32Array.from(succ, (s) => s.token), states: succ.map((s) => s.range) };
  },
  // A full-length prefix, or a shorter one that reached the end of every document it occurs in.
  canEnd: (range, n) => n >= length || (n > 0 && fm.successors(range).length === 0),
});

/**
 * LLM2GR generative retrieval: the scorer generates titles constrained by the trie
 * (stage 1), then a passage prefix constrained by an FM-index over the recalled
 * documents (stage 2); the prefix is located and the passage taken from there, and
 * documents are ranked by alpha * title + (1 - alpha) * passage score.
 */
export class Llm2grRetriever implements Retriever {
  readonly name = 'llm2gr';
  readonly options: Llm2grOptions;
  readonly #endToken: number | undefined;
  /** Non-empty documents without a title and the FM-index over their texts (built on first use). */
  #untitled: { fm: FmIndex; docs: Int32Array | undefined; all: boolean } | null | undefined;

  constructor(
    readonly index: Llm2grIndex,
    readonly scorer: Scorer,
    options: Partial<Llm2grOptions> = {},
  ) {
    this.options = { ...DEFAULT_LLM2GR_OPTIONS, ...options };
    const o = this.options;
    for (const k of ['titleBeam', 'keepTitles', 'passageBeam', 'prefixLength', 'passageLength', 'maxTitleTokens'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new InputError(`LLM2GR option ${k} must be an integer >= 1, got ${o[k]}.`);
    }
    if (!(o.alpha >= 0 && o.alpha <= 1)) throw new InputError(`LLM2GR option alpha must be in [0, 1], got ${o.alpha}.`);
    // After the checks above (their messages explain the values): unknown, misspelled keys.
    checkOptions(llm2grGenerationSchema, options, 'Llm2grRetriever options');
    if (codecFingerprint(scorer) !== index.codecFingerprint) {
      throw new InputError("The LLM2GR index was built with a different tokenizer than this scorer's; rebuild the index with the scorer's tokenizer.");
    }
    const end = o.titleEnd ? scorer.encode(o.titleEnd) : [];
    this.#endToken = end.length === 1 ? end[0] : undefined;
  }

  /** Runs both stages for one query and returns everything generated. */
  async generate(query: Query | string, signal?: AbortSignal): Promise<Generation> {
    const t0 = performance.now();
    const q = typeof query === 'string' ? query : query.text;
    const o = this.options;
    const { trie, fm, ids, titles } = this.index;
    const fill = (template: string): string => template.split('{query}').join(q);
    const untitled = this.#untitledDocs();
    if (untitled?.all) {
      // No document has a title: stage 1 generates passage prefixes over the whole corpus instead.
      const found = await this.#passagePrefixes(fill(o.passagePrompt), untitled, signal);
      const hits = this.#prefixHits(found, 'passage-prefix (no titles)');
      return {
        modes: ['passage-prefix (no titles)'],
        titles: [],
        passages: found.map(({ doc, prefix, passage, score, offset }) => ({ doc: ids[doc]!, prefix, passage, score, offset })),
        hits,
        ms: performance.now() - t0,
      };
    }

    // Stage 1: titles.
    const titleHyps = await constrainedBeamSearch(this.scorer, this.scorer.encode(fill(o.titlePrompt)), trieConstraint(trie), trie.root(), {
      beamSize: o.titleBeam,
      maxTokens: o.maxTitleTokens,
      ...(this.#endToken !== undefined ? { endToken: this.#endToken } : {}),
      ...(signal ? { signal } : {}),
    });
    const titleOut: Generation['titles'] = [];
    const docTitleScore = new Map<number, number>();
    const kept: number[] = [];
    titleHyps.forEach((h, rank) => {
      const row = trie.titleRow(h.state);
      const docs = Array.from(trie.docsOf(row));
      titleOut.push({ title: titles[docs[0]!]!, score: h.score, docs: docs.map((d) => ids[d]!) });
      for (const d of docs) {
        if (!docTitleScore.has(d)) docTitleScore.set(d, h.score);
        if (rank < o.keepTitles && !kept.includes(d)) kept.push(d);
      }
    });

    // Stage 2: a prefix constrained by an FM-index over the recalled documents.
    const passages: Generation['passages'] = [];
    const passageScore = new Map<number, number>();
    if (kept.length) {
      const local = FmIndex.build(
        kept.map((d) => fm.document(d)),
        { sampleRate: 4 },
      );
      const prefixHyps: Hypothesis<FmRange>[] = await constrainedBeamSearch(this.scorer, this.scorer.encode(fill(o.passagePrompt)), fmConstraint(local, o.prefixLength), local.root(), {
        beamSize: o.passageBeam,
        maxTokens: o.prefixLength,
        ...(signal ? { signal } : {}),
      });
      for (const h of prefixHyps) {
        // Locate the prefix (the first occurrence per document) and take the passage from there.
        const seenDocs = new Set<number>();
        for (const occ of local.locate(h.state)) {
          if (seenDocs.has(occ.doc)) continue;
          seenDocs.add(occ.doc);
          const d = kept[occ.doc]!;
          if (passageScore.has(d)) continue;
          passageScore.set(d, h.score);
          const passage = fm.extract(d, occ.offset, o.passageLength);
          passages.push({ doc: ids[d]!, prefix: this.scorer.decode(h.tokens).trim(), passage: this.scorer.decode(Array.from(passage)).trim(), score: h.score, offset: occ.offset });
        }
      }
    }
    const floor = passageScore.size ? Math.min(...passageScore.values()) : 0;
    const hits: Hit[] = [];
    for (const [d, ts] of docTitleScore) {
      if (o.hits === 'kept' && !kept.includes(d)) continue;
      const ps = passageScore.get(d) ?? floor;
      const p = passages.find((x) => x.doc === ids[d]);
      hits.push({
        id: ids[d]!,
        score: o.alpha * ts + (1 - o.alpha) * ps,
        explain: {
          mode: 'titles',
          titles: titleOut.map(({ title, score }) => ({ title, score })),
          prefix: p?.prefix ?? null,
          passage: p?.passage ?? null,
          titleScore: ts,
          passageScore: passageScore.get(d) ?? null,
        },
      });
    }
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    if (!untitled) return { modes: ['titles'], titles: titleOut, passages, hits, ms: performance.now() - t0 };

    // Untitled documents of a partly titled corpus: passage prefixes over their own FM-index.
    // Title and prefix scores live on different scales, so the two rankings are fused by rank
    // (RRF, k = 60); explain keeps each hit's own score as generationScore.
    const found = await this.#passagePrefixes(fill(o.passagePrompt), untitled, signal);
    for (const { doc, prefix, passage, score, offset } of found) passages.push({ doc: ids[doc]!, prefix, passage, score, offset });
    const prefixHits = this.#prefixHits(found, 'passage-prefix (no title)');
    const byId = new Map([...hits, ...prefixHits].map((h) => [h.id, h]));
    const fused = reciprocalRankFusion([hits, prefixHits]).map(({ id, score }) => {
      const own = byId.get(id)!;
      return { id, score, explain: { ...own.explain, generationScore: own.score } };
    });
    return { modes: ['titles', 'passage-prefix (no title)'], titles: titleOut, passages, hits: fused, ms: performance.now() - t0 };
  }

  /** The non-empty documents without a title, or null when every one has a title. */
  #untitledDocs(): { fm: FmIndex; docs: Int32Array | undefined; all: boolean } | null {
    if (this.#untitled !== undefined) return this.#untitled;
    const { titles, fm } = this.index;
    const docs: number[] = [];
    let titled = 0;
    for (let d = 0; d < titles.length; d++) {
      if (titles[d]) titled++;
      else if (fm.docLength(d) > 0) docs.push(d);
    }
    if (docs.length === 0) this.#untitled = null;
    else if (titled === 0) this.#untitled = { fm, docs: undefined, all: true };
    else
      this.#untitled = {
        fm: FmIndex.build(
          docs.map((d) => fm.document(d)),
          { sampleRate: 4 },
        ),
        docs: Int32Array.from(docs),
        all: false,
      };
    return this.#untitled;
  }

  /**
   * SEAL-style: generates `titleBeam` passage prefixes (up to `prefixLength` tokens) under the
   * FM-index constraint, locates each in the documents, and gives every document the score of
   * the best prefix found in it (with the passage from where it occurs). Best first.
   */
  async #passagePrefixes(
    prompt: string,
    source: { fm: FmIndex; docs: Int32Array | undefined },
    signal: AbortSignal | undefined,
  ): Promise<{ doc: number; prefix: string; passage: string; score: number; offset: number; rank: number }[]> {
    const o = this.options;
    const hyps = await constrainedBeamSearch(this.scorer, this.scorer.encode(prompt), fmConstraint(source.fm, o.prefixLength), source.fm.root(), {
      beamSize: o.titleBeam,
      maxTokens: o.prefixLength,
      ...(signal ? { signal } : {}),
    });
    const found = new Map<number, { doc: number; prefix: string; passage: string; score: number; offset: number; rank: number }>();
    hyps.forEach((h, rank) => {
      if (h.tokens.length === 0) return;
      const prefix = this.scorer.decode(h.tokens).trim();
      for (const occ of source.fm.locate(h.state, LOCATE_LIMIT)) {
        const d = source.docs ? source.docs[occ.doc]! : occ.doc;
        if (found.has(d)) continue;
        const passage = this.scorer.decode(Array.from(this.index.fm.extract(d, occ.offset, o.passageLength))).trim();
        found.set(d, { doc: d, prefix, passage, score: h.score, offset: occ.offset, rank });
      }
    });
    return [...found.values()];
  }

  /** Hits for documents found by passage prefixes; with hits 'kept', only those of the `keepTitles` best prefixes. */
  #prefixHits(found: readonly { doc: number; prefix: string; passage: string; score: number; rank: number }[], mode: Llm2grMode): Hit[] {
    const o = this.options;
    const hits = found
      .filter((f) => o.hits === 'all' || f.rank < o.keepTitles)
      .map((f) => ({
        id: this.index.ids[f.doc]!,
        score: f.score,
        explain: { mode, titles: [], prefix: f.prefix, passage: f.passage, titleScore: null, passageScore: f.score },
      }));
    return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    const k = options.k ?? 10;
    const gen = await this.generate(query, options.signal);
    const hits = options.filter ? gen.hits.filter((h) => options.filter!(h.id)) : gen.hits;
    return hits.slice(0, k);
  }

  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    const out: Hit[][] = [];
    for (const q of queries) {
      throwIfAborted(options.signal, 'search');
      out.push(await this.search(q, options));
    }
    return out;
  }

  async save(dir: string): Promise<void> {
    await this.index.save(dir);
  }
}

export function docsOf(store: DocStore): Doc[] {
  return [...store];
}
