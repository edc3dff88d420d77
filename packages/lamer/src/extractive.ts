import { InputError, checkOptions, docText, throwIfAborted, type DocStore, type Encoder } from '@quarry/core';
import { createAnalyzer, type Analyzer } from '@quarry/bm25';
import type { AnswerInput, AnswerSource, Candidate } from './answers.js';
import { extractiveOptionsSchema } from './options.js';

export interface ExtractiveOptions {
  /**
   * How sentences are chosen: 'lexical' (idf-weighted overlap with the query terms), 'dense'
   * (cosine with the query under `encoder`), or 'hybrid' (`denseWeight` * dense + the rest lexical).
   * Default: 'dense' when an encoder is given, else 'lexical'.
   */
  selector?: 'lexical' | 'dense' | 'hybrid';
  /** Needed by 'dense' and 'hybrid'. */
  encoder?: Encoder;
  /** Weight of the dense score in 'hybrid' (default 0.5). */
  denseWeight?: number;
  /** Sentences taken from one candidate at most (default no cap: spreading to lower-ranked candidates cost 4-6 nDCG@10 points on SciFact). */
  maxPerDoc?: number;
  /** Sentences with fewer tokens are skipped (default 5). */
  minTokens?: number;
  /** Prior for the candidate's first-round rank: score / (1 + rankDecay * rank) (default 0: none). */
  rankDecay?: number;
  /** Include the title as a sentence (default true). */
  titles?: boolean;
  /** Analyzer for the lexical score (default the English analyzer of @quarry/bm25). */
  analyzer?: Analyzer;
}

/** Splits text into sentences at . ! ? followed by whitespace and an upper-case letter, digit or bracket. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z0-9([])/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Pseudo-relevance feedback in LameR's place, for when no LLM is configured: the `n`
 * sentences of the first-round candidates that best match the query (by the chosen
 * selector, with a prior for the candidate's rank and a cap per candidate). It copies
 * text from the corpus; it writes nothing new and is not a language model.
 */
export class ExtractiveAnswers implements AnswerSource {
  readonly kind = 'extractive';
  readonly name: string;
  readonly #idf: Map<string, number>;
  readonly #analyzer: Analyzer;
  readonly #options: Required<Omit<ExtractiveOptions, 'encoder' | 'analyzer'>>;
  readonly #encoder: Encoder | undefined;

  private constructor(idf: Map<string, number>, analyzer: Analyzer, options: ExtractiveOptions) {
    this.#idf = idf;
    this.#analyzer = analyzer;
    this.#encoder = options.encoder;
    this.#options = {
      selector: options.selector ?? (options.encoder ? 'dense' : 'lexical'),
      denseWeight: options.denseWeight ?? 0.5,
      maxPerDoc: options.maxPerDoc ?? Number.POSITIVE_INFINITY,
      minTokens: options.minTokens ?? 5,
      rankDecay: options.rankDecay ?? 0,
      titles: options.titles ?? true,
    };
    const o = this.#options;
    if (o.selector !== 'lexical' && !this.#encoder) throw new InputError(`The extractive selector "${o.selector}" needs an encoder.`);
    if (!(o.denseWeight >= 0 && o.denseWeight <= 1)) throw new InputError(`denseWeight must be in [0, 1], got ${o.denseWeight}.`);
    if (o.maxPerDoc !== Number.POSITIVE_INFINITY && (!Number.isInteger(o.maxPerDoc) || o.maxPerDoc < 1)) throw new InputError(`maxPerDoc must be an integer >= 1, got ${o.maxPerDoc}.`);
    if (!(o.rankDecay >= 0)) throw new InputError(`rankDecay must be >= 0, got ${o.rankDecay}.`);
    this.name = `extractive-${o.selector}`;
  }

  /** Computes document frequencies over the collection (for the idf weights), once. */
  static async fromDocs(docs: DocStore | Iterable<{ title?: string; text: string }>, options: ExtractiveOptions = {}, signal?: AbortSignal): Promise<ExtractiveAnswers> {
    checkOptions(extractiveOptionsSchema, options, 'ExtractiveAnswers options');
    const analyzer = options.analyzer ?? createAnalyzer('english');
    const df = new Map<string, number>();
    let n = 0;
    for (const doc of docs) {
      if ((n & 1023) === 0) throwIfAborted(signal, 'extractive idf');
      n++;
      for (const term of new Set(analyzer.analyze(docText(doc as { id: string; title?: string; text: string })))) df.set(term, (df.get(term) ?? 0) + 1);
    }
    const idf = new Map<string, number>();
    for (const [term, f] of df) idf.set(term, Math.log(1 + (n - f + 0.5) / (f + 0.5)));
    return new ExtractiveAnswers(idf, analyzer, options);
  }

  async answers(input: AnswerInput): Promise<string[]> {
    return (await this.select(input)).map((s) => s.text);
  }

  /**
   * The chosen sentences with the candidate each comes from. `exclude` leaves out the
   * sentences of one candidate (the next best ones take their place).
   */
  async select(input: AnswerInput, exclude?: string): Promise<{ text: string; id: string }[]> {
    const { query, n } = input;
    const candidates = exclude === undefined ? input.candidates : input.candidates.filter((c) => c.id !== exclude);
    const o = this.#options;
    const pool: { sentence: string; cand: Candidate }[] = [];
    for (const cand of candidates) {
      const sentences = [...(o.titles && cand.doc.title ? [cand.doc.title] : []), ...splitSentences(cand.doc.text)];
      for (const s of sentences) if (s.split(/\s+/).length >= o.minTokens) pool.push({ sentence: s, cand });
    }
    if (pool.length === 0 || n === 0) return [];
    const scores = new Float64Array(pool.length);
    if (o.selector !== 'dense') {
      const qTerms = [...new Set(this.#analyzer.analyze(query.text))];
      const total = qTerms.reduce((s, t) => s + (this.#idf.get(t) ?? 0), 0) || 1;
      const weight = o.selector === 'hybrid' ? 1 - o.denseWeight : 1;
      pool.forEach((p, i) => {
        const terms = new Set(this.#analyzer.analyze(p.sentence));
        let overlap = 0;
        for (const t of qTerms) if (terms.has(t)) overlap += this.#idf.get(t) ?? 0;
        scores[i] = scores[i]! + (weight * overlap) / total;
      });
    }
    if (o.selector !== 'lexical') {
      const enc = this.#encoder!;
      const q = await enc.encode([query.text], { role: 'query', ...(input.signal ? { signal: input.signal } : {}) });
      const s = await enc.encode(
        pool.map((p) => p.sentence),
        { role: 'document', ...(input.signal ? { signal: input.signal } : {}) },
      );
      const weight = o.selector === 'hybrid' ? o.denseWeight : 1;
      const d = s.cols;
      const qn = Math.sqrt(dot(q.data, 0, q.data, 0, d)) || 1;
      for (let i = 0; i < pool.length; i++) {
        const sn = Math.sqrt(dot(s.data, i * d, s.data, i * d, d)) || 1;
        scores[i] = scores[i]! + (weight * dot(q.data, 0, s.data, i * d, d)) / (qn * sn);
      }
    }
    const order = pool.map((_, i) => i);
    const prior = (i: number) => scores[i]! / (1 + o.rankDecay * pool[i]!.cand.rank);
    order.sort((a, b) => prior(b) - prior(a) || a - b);
    const perDoc = new Map<string, number>();
    const out: { text: string; id: string }[] = [];
    for (const i of order) {
      if (out.length >= n) break;
      const id = pool[i]!.cand.id;
      const used = perDoc.get(id) ?? 0;
      if (used >= o.maxPerDoc) continue;
      perDoc.set(id, used + 1);
      out.push({ text: pool[i]!.sentence, id });
    }
    return out;
  }
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[ao + j]! * b[bo + j]!;
  return s;
}
