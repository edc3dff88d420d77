import {
  InputError,
  TopK,
  checkOptions,
  docText,
  isBlankDoc,
  reciprocalRankFusion,
  throwIfAborted,
  type DocStore,
  type Encoder,
  type Hit,
  type Query,
  type QueryRewriter,
  type RewriteContext,
  type Retriever,
  type SearchOptions,
} from '@quarry/core';
import type { AnswerSource, Candidate } from './answers.js';
import { lameRDenseBuildOptionsSchema, lameROptionsSchema, lameRRetrieverOptionsSchema } from './options.js';
import { augmentQuery, renderPrompt, resolveTemplate, truncateTokens } from './prompt.js';

export interface LameROptions {
  /** 'lamer' (default): candidates in the prompt; 'hyde': HyDE's prompt, no candidates. */
  mode?: 'lamer' | 'hyde';
  /** M: first-round candidates shown in the prompt (default 10; 0 = none). Ignored in HyDE mode. */
  candidates?: number;
  /** n: answers per query (default 5). */
  answers?: number;
  /** Whitespace tokens kept of each candidate (title + text) in the prompt (default 128). */
  candidateTokens?: number;
  /** A domain ('web', 'scientific', 'counter-argument', 'financial') or a template with {query} (and {candidates}). Default 'web'. */
  template?: string;
  /** Copies of the query before each answer in the augmented query (default 1). */
  queryRepeats?: number;
}

/** What LameR did for one query; attached to every hit as `explain.lamer`. */
export interface LameRExplain {
  mode: 'lamer' | 'hyde';
  /** The answer source's name, e.g. `openai:gpt-3.5-turbo` or `extractive-dense`. */
  generator: string;
  /** 'llm' or 'extractive' (pseudo-relevance feedback, no language model). */
  generatorKind: 'llm' | 'extractive';
  /** The prompt (what an LLM saw; recorded for extractive sources too, which ignore it). */
  prompt: string;
  /** Ids of the first-round candidates, best first. */
  candidates: string[];
  answers: string[];
  /** The query the second round retrieved with. */
  augmentedQuery: string;
}

/**
 * LameR (Shen et al., 2023) as a query rewriter: the first-stage retriever's top-M
 * candidates go into the prompt, n answers come back, and the query becomes
 * `q a1 q a2 ... q an` for the second round. In a pipeline the first round is the
 * pipeline's own retriever (BM25 in the paper); pass `firstRound` to use another.
 */
export class LameR implements QueryRewriter {
  readonly name = 'lamer';
  readonly mode: 'lamer' | 'hyde';
  readonly m: number;
  readonly n: number;
  readonly candidateTokens: number;
  readonly template: string;
  readonly queryRepeats: number;

  constructor(
    readonly source: AnswerSource,
    options: LameROptions = {},
    readonly firstRound?: Retriever,
  ) {
    this.mode = options.mode ?? 'lamer';
    this.m = this.mode === 'hyde' ? 0 : (options.candidates ?? 10);
    this.n = options.answers ?? 5;
    this.candidateTokens = options.candidateTokens ?? 128;
    this.queryRepeats = options.queryRepeats ?? 1;
    for (const [name, v, min] of [
      ['candidates', this.m, 0],
      ['answers', this.n, 1],
      ['candidateTokens', this.candidateTokens, 1],
      ['queryRepeats', this.queryRepeats, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min) throw new InputError(`LameR option ${name} must be an integer >= ${min}, got ${v}.`);
    }
    this.template = resolveTemplate(this.mode, options.template ?? 'web');
    if (this.mode === 'lamer' && this.m > 0 && !this.template.includes('{candidates}')) throw new InputError('A LameR template needs a {candidates} placeholder (or set candidates to 0).');
    checkOptions(lameROptionsSchema, options, 'LameR options');
  }

  /** Runs the first round, the prompt and the answer source; returns the trace. */
  async expand(query: Query, context: { retriever?: Retriever; docs: DocStore; signal?: AbortSignal }): Promise<LameRExplain> {
    throwIfAborted(context.signal, 'LameR');
    const first = this.firstRound ?? context.retriever;
    let candidates: Candidate[] = [];
    if (this.m > 0) {
      if (!first) throw new InputError('LameR needs a first-round retriever: put it in a pipeline or pass firstRound.');
      const hits = await first.search(query, { k: this.m, ...(context.signal ? { signal: context.signal } : {}) });
      candidates = hits.flatMap((h, rank) => {
        const doc = context.docs.get(h.id);
        return doc ? [{ id: h.id, rank, score: h.score, doc, text: truncateTokens(docText(doc), this.candidateTokens) }] : [];
      });
    }
    const prompt = renderPrompt(
      this.template,
      query.text,
      candidates.map((c) => c.text),
    );
    const answers = await this.source.answers({ query, prompt, candidates, n: this.n, ...(context.signal ? { signal: context.signal } : {}) });
    return {
      mode: this.mode,
      generator: this.source.name,
      generatorKind: this.source.kind,
      prompt,
      candidates: candidates.map((c) => c.id),
      answers,
      augmentedQuery: augmentQuery(query.text, answers, { queryRepeats: this.queryRepeats }),
    };
  }

  async rewrite(query: Query, context: RewriteContext): Promise<{ query: Query; explain: { lamer: LameRExplain } }> {
    const lamer = await this.expand(query, context);
    return { query: { id: query.id, text: lamer.augmentedQuery }, explain: { lamer } };
  }
}

/** `fn` over every item, at most `limit` at a time, results in input order. */
async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

function asQuery(q: Query | string, i: number): Query {
  return typeof q === 'string' ? { id: String(i), text: q } : q;
}

/**
 * LameR as one retriever over a lexical retriever: first round, answers, second round with
 * the augmented query; optionally fused (reciprocal rank fusion) with the first round's own
 * ranking, which keeps the precision of the original query. Hits carry `explain.lamer`.
 */
export class LameRRetriever implements Retriever {
  readonly name: string;

  constructor(
    readonly lamer: LameR,
    readonly retriever: Retriever,
    readonly docs: DocStore,
    readonly options: {
      fuse?: { k?: number; weights?: [number, number]; depth?: number };
      /** Queries of a batch expanded at once (default 4): LLM requests overlap; results keep their order. */
      parallel?: number;
    } = {},
  ) {
    checkOptions(lameRRetrieverOptionsSchema, options, 'LameRRetriever options');
    this.name = `${lamer.mode}-${retriever.name}`;
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    const k = options.k ?? 10;
    return mapPool(queries, this.options.parallel ?? 4, async (raw, i) => {
      const q = asQuery(raw, i);
      const lamer = await this.lamer.expand(q, { retriever: this.retriever, docs: this.docs, ...(options.signal ? { signal: options.signal } : {}) });
      const fuse = this.options.fuse;
      const depth = fuse ? Math.max(k, fuse.depth ?? 1000) : k;
      const second = await this.retriever.search({ id: q.id, text: lamer.augmentedQuery }, { ...options, k: depth });
      let hits = second;
      if (fuse) {
        const firstHits = await this.retriever.search(q, { ...options, k: depth });
        hits = reciprocalRankFusion([firstHits, second], { k: fuse.k ?? 60, ...(fuse.weights ? { weights: fuse.weights } : {}), limit: k });
      }
      return hits.slice(0, k).map((h) => ({ ...h, explain: { ...h.explain, lamer } }));
    });
  }
}

/**
 * The paper's dense variant: the query vector is the mean over answers of
 * (Enc(q) + Enc(a_i)) / 2, searched exactly (cosine) over the encoded documents.
 * The first round is any retriever (BM25 in the paper).
 */
export class LameRDenseRetriever implements Retriever {
  readonly name = 'lamer-dense';

  private constructor(
    readonly lamer: LameR,
    readonly encoder: Encoder,
    readonly firstRound: Retriever,
    readonly docs: DocStore,
    private readonly ids: string[],
    private readonly vectors: Float32Array,
    /** Queries of a batch expanded at once (LLM requests overlap); results keep their order. */
    readonly parallel = 4,
  ) {}

  /** Encodes every document (title + text), normalised for cosine. */
  static async build(
    lamer: LameR,
    encoder: Encoder,
    firstRound: Retriever,
    docs: DocStore,
    options: { batchSize?: number; signal?: AbortSignal; parallel?: number } = {},
  ): Promise<LameRDenseRetriever> {
    checkOptions(lameRDenseBuildOptionsSchema, options, 'LameRDenseRetriever.build options');
    const all = [...docs];
    const d = encoder.dim;
    const vectors = new Float32Array(all.length * d);
    const batch = options.batchSize ?? 512;
    for (let i = 0; i < all.length; i += batch) {
      throwIfAborted(options.signal, 'LameR dense encoding');
      const m = await encoder.encode(all.slice(i, i + batch).map(docText), { role: 'document', ...(options.signal ? { signal: options.signal } : {}) });
      vectors.set(m.data, i * d);
    }
    for (let i = 0; i < all.length; i++) normalize(vectors, i * d, d);
    // Documents with nothing to match (core's isBlankDoc, or a zero vector) are left out of the scan: never returned.
    const keep = all.flatMap((doc, i) => (isBlankDoc(doc) || vectors.subarray(i * d, (i + 1) * d).every((x) => x === 0) ? [] : [i]));
    const kept = keep.length === all.length ? vectors : new Float32Array(keep.length * d);
    if (kept !== vectors) keep.forEach((i, r) => kept.set(vectors.subarray(i * d, (i + 1) * d), r * d));
    return new LameRDenseRetriever(
      lamer,
      encoder,
      firstRound,
      docs,
      keep.map((i) => all[i]!.id),
      kept,
      options.parallel ?? 4,
    );
  }

  /** (Enc(q) + Enc(a_i)) / 2 averaged over answers (just Enc(q) when there are none), each vector normalised. */
  async queryVector(query: string, answers: readonly string[], signal?: AbortSignal): Promise<Float32Array> {
    const d = this.encoder.dim;
    const qv = (await this.encoder.encode([query], { role: 'query', ...(signal ? { signal } : {}) })).data.slice(0, d);
    normalize(qv, 0, d);
    if (answers.length === 0) return qv;
    const av = await this.encoder.encode(answers, { role: 'document', ...(signal ? { signal } : {}) });
    const out = new Float32Array(d);
    for (let i = 0; i < answers.length; i++) {
      normalize(av.data, i * d, d);
      for (let j = 0; j < d; j++) out[j] = out[j]! + (qv[j]! + av.data[i * d + j]!) / 2 / answers.length;
    }
    return out;
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    const k = options.k ?? 10;
    const d = this.encoder.dim;
    return mapPool(queries, this.parallel, async (raw, i) => {
      const q = asQuery(raw, i);
      const lamer = await this.lamer.expand(q, { retriever: this.firstRound, docs: this.docs, ...(options.signal ? { signal: options.signal } : {}) });
      const qv = await this.queryVector(q.text, lamer.answers, options.signal);
      const top = new TopK(k);
      for (let r = 0; r < this.ids.length; r++) {
        if (options.filter && !options.filter(this.ids[r]!)) continue;
        let s = 0;
        const o = r * d;
        for (let j = 0; j < d; j++) s += qv[j]! * this.vectors[o + j]!;
        if (s > top.threshold) top.push(r, s);
      }
      const { indices, scores } = top.drain();
      return Array.from(indices, (r, j) => ({ id: this.ids[r]!, score: scores[j]!, explain: { lamer } }));
    });
  }
}

function normalize(v: Float32Array, o: number, d: number): void {
  let s = 0;
  for (let j = 0; j < d; j++) s += v[o + j]! * v[o + j]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let j = 0; j < d; j++) v[o + j] = v[o + j]! * inv;
}
