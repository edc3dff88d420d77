/** A document of a collection. `title` is kept apart so analyzers can weigh or join it. */
export interface Doc {
  id: string;
  title?: string;
  text: string;
  meta?: Record<string, unknown>;
}

export interface Query {
  id: string;
  text: string;
}

/** One ranked result. Plugins may attach an explanation (e.g. a rewritten query, matched terms). */
export interface Hit {
  id: string;
  score: number;
  explain?: Record<string, unknown>;
}

export interface SearchOptions {
  /** How many hits to return (default 10). */
  k?: number;
  /** Keep only documents for which this returns true (applied inside the index, before top-k). */
  filter?: (id: string) => boolean;
  signal?: AbortSignal;
}

export interface Retriever {
  readonly name: string;
  search(query: Query | string, options?: SearchOptions): Promise<Hit[]>;
  searchBatch(queries: readonly (Query | string)[], options?: SearchOptions): Promise<Hit[][]>;
}

/** Whether a text is encoded as a query or as a document (models may prefix them differently). */
export type TextRole = 'query' | 'document';

export interface EncodeOptions {
  role: TextRole;
  signal?: AbortSignal;
  /** Matryoshka: keep only the first `dim` components (then re-normalise if the encoder normalises). */
  dim?: number;
}

/** Row-major dense matrix: row i is `data.subarray(i * cols, (i + 1) * cols)`. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Rows of varying length packed together: item i owns rows `offsets[i] .. offsets[i+1]-1`. */
export interface RaggedMatrix {
  dim: number;
  offsets: Int32Array;
  data: Float32Array;
}

/** One vector per text. */
export interface Encoder {
  readonly dim: number;
  encode(texts: readonly string[], options: EncodeOptions): Promise<Matrix>;
}

/** One vector per token (late interaction). */
export interface TokenEncoder {
  readonly dim: number;
  encodeTokens(texts: readonly string[], options: EncodeOptions): Promise<RaggedMatrix>;
}

/** Read access to the documents behind a retriever. */
export interface DocStore {
  readonly size: number;
  get(id: string): Doc | undefined;
  has(id: string): boolean;
  ids(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<Doc>;
}

export interface RerankContext {
  docs: DocStore;
  signal?: AbortSignal;
}

export interface Reranker {
  readonly name: string;
  rerank(query: Query, hits: readonly Hit[], context: RerankContext): Promise<Hit[]>;
}

export interface RewriteContext {
  /** The pipeline's first-stage retriever, for rewriters that look at candidates first (LameR). */
  retriever: Retriever;
  docs: DocStore;
  signal?: AbortSignal;
}

export interface QueryRewriter {
  readonly name: string;
  /** Returns the query to retrieve with; `explain` is attached to the pipeline's hits. */
  rewrite(query: Query, context: RewriteContext): Promise<{ query: Query; explain?: Record<string, unknown> }>;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface GenerateOptions {
  /** Number of samples to return. */
  n?: number;
  temperature?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  signal?: AbortSignal;
}

export interface Generator {
  readonly name: string;
  generate(prompt: string | readonly ChatMessage[], options?: GenerateOptions): Promise<string[]>;
}

/** What constrained decoding needs from a language model: log-probabilities of every next token. */
export interface NextTokenScorer {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** For each prefix (token ids), log-softmax over the vocabulary for the next token. */
  nextTokenLogProbs(prefixes: readonly (readonly number[])[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Reports progress of long work; `total` may be unknown while streaming. */
export type ProgressCallback = (event: { phase: string; done: number; total?: number }) => void;

/**
 * Optional capability of a retriever: score given documents for a query on the same
 * scale as its search results (hard-negative mining needs the score of positives that
 * may lie outside the top k). Ids unknown to the retriever score NaN.
 */
export interface DocScorer {
  scoreDocs(query: Query | string, ids: readonly string[]): Promise<Float64Array>;
}

export function isDocScorer(value: unknown): value is DocScorer {
  return typeof value === 'object' && value !== null && typeof (value as DocScorer).scoreDocs === 'function';
}
