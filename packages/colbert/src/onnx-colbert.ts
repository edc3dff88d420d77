import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig as parseSchema, z, type EncodeOptions, type RaggedMatrix, type TokenEncoder } from '@quarry/core';
import { applyDense, ModelInvalidError, OnnxModel, type OnnxEncoderOptions, type OutputInfo } from '@quarry/encoders';
import { checkMatryoshkaDim } from './matryoshka.js';

/** ASCII punctuation, ColBERT's default document skiplist (Python's string.punctuation). */
const PUNCTUATION = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];

export const COLBERT_CONFIG_FILE = 'colbert.json';

/** Longest query or document a config may ask for: queries are padded to their length, so it sizes an array. */
const MAX_TOKENS = 65_536;

const colbertConfigSchema = z
  .object({
    /** Token inserted after the start token of every query (jina-colbert-v2: `[QueryMarker]`; ColBERT: `[unused0]`). */
    queryMarker: z.string().min(1).optional(),
    /** Token inserted after the start token of every document (`[DocumentMarker]`; ColBERT: `[unused1]`). */
    documentMarker: z.string().min(1).optional(),
    /** Queries are truncated or padded with the mask token to exactly this many tokens. */
    queryLength: z.number().int().min(4).max(MAX_TOKENS).default(32),
    /** Documents are truncated to this many tokens (markers and special tokens included). */
    documentLength: z.number().int().min(4).max(MAX_TOKENS).default(512),
    /** Whether the query's [MASK] padding is attended (jina-colbert-v2: yes). */
    attendToExpansionTokens: z.boolean().default(true),
    /** Pad queries with [MASK] to `queryLength` (ColBERT query expansion; PyLate `do_query_expansion`). */
    queryExpansion: z.boolean().default(true),
    /** Document tokens dropped from the output (by their text). Default: ASCII punctuation. */
    skiplist: z.array(z.string().max(256)).max(100_000).default(PUNCTUATION),
    /** Matryoshka dimensions the projection was trained for (jina-colbert-v2: 128, 96, 64). */
    matryoshkaDims: z.array(z.number().int().positive().max(65_536)).max(64).optional(),
  })
  .strict();

export type ColbertModelConfig = z.output<typeof colbertConfigSchema>;

/**
 * Reads a ColBERT model folder's settings from, in order: Quarry's `colbert.json`, a
 * Stanford ColBERT `artifact.metadata`, PyLate's `config_sentence_transformers.json`.
 * Missing settings take jina-colbert-v2's values.
 */
export function readColbertConfig(dir: string): ColbertModelConfig {
  const read = (name: string): Record<string, unknown> | undefined => {
    const file = join(dir, name);
    if (!existsSync(file)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ModelInvalidError(file, `is not valid JSON (${(error as Error).message}).`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ModelInvalidError(file, 'must hold a JSON object of settings.');
    return value as Record<string, unknown>;
  };
  // A model folder's settings are model data: schema failures are MODEL_INVALID, naming the file.
  const parseConfig = (value: Record<string, unknown>, file: string): ColbertModelConfig => {
    try {
      return parseSchema(colbertConfigSchema, value, file);
    } catch (error) {
      if (error instanceof ConfigError) throw new ModelInvalidError(file, error.message, { issues: error.issues }, { cause: error });
      throw error;
    }
  };
  const own = read(COLBERT_CONFIG_FILE);
  if (own) return parseConfig(own, join(dir, COLBERT_CONFIG_FILE));
  const stanford = read('artifact.metadata');
  if (stanford) {
    return parseConfig(
      dropUndefined({
        queryMarker: stanford.query_token_id,
        documentMarker: stanford.doc_token_id,
        queryLength: stanford.query_maxlen,
        documentLength: stanford.doc_maxlen,
        attendToExpansionTokens: stanford.attend_to_mask_tokens,
        skiplist: stanford.mask_punctuation === false ? [] : undefined,
      }),
      join(dir, 'artifact.metadata'),
    );
  }
  const pylate = read('config_sentence_transformers.json');
  if (pylate) {
    return parseConfig(
      dropUndefined({
        // PyLate adds "[Q] " / "[D] " (trailing space included) as tokens; the lookup also tries them trimmed.
        queryMarker: typeof pylate.query_prefix === 'string' && pylate.query_prefix.trim() ? pylate.query_prefix : undefined,
        documentMarker: typeof pylate.document_prefix === 'string' && pylate.document_prefix.trim() ? pylate.document_prefix : undefined,
        queryLength: pylate.query_length,
        documentLength: pylate.document_length,
        attendToExpansionTokens: pylate.attend_to_expansion_tokens,
        queryExpansion: pylate.do_query_expansion,
        skiplist: pylate.skiplist_words,
      }),
      join(dir, 'config_sentence_transformers.json'),
    );
  }
  return parseConfig({}, 'ColBERT defaults');
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The token ids a ColBERT encoder feeds its model for one text, and which outputs it keeps. */
export interface ColbertInput {
  ids: Int32Array;
  /** Leading tokens covered by the attention mask. */
  attended: number;
  /** Positions whose vectors are returned. */
  keep: Int32Array;
}

/**
 * A ColBERT token encoder over an exported ONNX model folder (model.onnx + tokenizer.json,
 * e.g. jina-colbert-v2): queries become `[CLS] [QueryMarker] tokens [SEP]` padded with
 * [MASK] to `queryLength` (the masks are attended and return vectors: query expansion);
 * documents become `[CLS] [DocumentMarker] tokens [SEP]` up to `documentLength`, and their
 * punctuation tokens are dropped. Every vector is L2-normalised; `dim` keeps a prefix.
 */
export class OnnxColbertEncoder implements TokenEncoder {
  readonly dim: number;
  readonly config: ColbertModelConfig;
  readonly #model: OnnxModel;
  readonly #output: OutputInfo;
  readonly #queryMarker: number;
  readonly #documentMarker: number;
  readonly #mask: number;
  readonly #skip: Set<number>;

  private constructor(model: OnnxModel, output: OutputInfo, config: ColbertModelConfig, dim: number) {
    this.#model = model;
    this.#output = output;
    this.config = config;
    this.dim = dim;
    const tok = model.tokenizer;
    const file = join(model.folder.dir, 'tokenizer.json');
    const lookup = (candidates: (string | undefined)[], what: string): number => {
      for (const c of candidates) {
        const id = c === undefined ? undefined : tok.tokenToId(c);
        if (id !== undefined) return id;
      }
      throw new ModelInvalidError(file, `has no ${what} token (tried ${candidates.filter(Boolean).join(', ')}); set it in ${COLBERT_CONFIG_FILE}.`);
    };
    this.#queryMarker = lookup([config.queryMarker, config.queryMarker?.trim(), '[QueryMarker]', '[unused0]'], 'query marker');
    this.#documentMarker = lookup([config.documentMarker, config.documentMarker?.trim(), '[DocumentMarker]', '[unused1]'], 'document marker');
    this.#mask = lookup(['[MASK]', '<mask>'], 'mask');
    // A skiplist word counts when it is one token of the vocabulary (as such or as its only piece),
    // never [UNK]: a word outside the vocabulary must not drop every unknown document token.
    this.#skip = new Set<number>();
    for (const word of config.skiplist) {
      const pieces = tok.encode(word, { addSpecialTokens: false });
      const id = tok.tokenToId(word) ?? (pieces.length === 1 ? pieces[0] : undefined);
      if (id !== undefined && id !== tok.unkId) this.#skip.add(id);
    }
  }

  static async load(dir: string, options: OnnxEncoderOptions & { dim?: number } = {}): Promise<OnnxColbertEncoder> {
    const config = readColbertConfig(dir);
    const { dim, ...rest } = options;
    // Pooling and the length cap are ColBERT's own here (set explicitly, so nothing is reported as guessed).
    const model = await OnnxModel.load(dir, { pooling: 'cls', maxLength: config.documentLength, ...rest, addSpecialTokens: true, normalize: true });
    const output = model.resolveOutput(model.config.tokenOutput, ['token_embeddings', 'last_hidden_state', 'contextual', 'output'], [3], 'ColBERT token vectors');
    const probe = new OnnxColbertEncoder(model, output, config, 0);
    const full = (await probe.#run([probe.prepare('dimension probe', 'document')])).dim;
    const d = dim ?? full;
    checkMatryoshkaDim(d, full);
    if (config.matryoshkaDims && dim !== undefined && dim !== full && !config.matryoshkaDims.includes(dim)) {
      throw new ConfigError(`${dir}: this ColBERT model was trained for token dims ${[...config.matryoshkaDims, full].join(', ')}; ${dim} is not one of them.`);
    }
    return new OnnxColbertEncoder(model, output, config, d);
  }

  /** The model input for one text (exposed so callers and tests can inspect it). */
  prepare(text: string, role: 'query' | 'document'): ColbertInput {
    const tok = this.#model.tokenizer;
    const isQuery = role === 'query';
    const limit = isQuery ? this.config.queryLength : this.config.documentLength;
    // [CLS] t1 .. tn [SEP] with room for the marker, then the marker goes after [CLS].
    const base = tok.encode(text, { maxLength: limit - 1, addSpecialTokens: true });
    const expand = isQuery && this.config.queryExpansion;
    const ids = new Int32Array(expand ? limit : base.length + 1);
    ids[0] = base[0]!;
    ids[1] = isQuery ? this.#queryMarker : this.#documentMarker;
    ids.set(base.subarray(1), 2);
    let attended = ids.length;
    if (expand) {
      ids.fill(this.#mask, base.length + 1);
      if (!this.config.attendToExpansionTokens) attended = base.length + 1;
    }
    const keep: number[] = [];
    for (let t = 0; t < ids.length; t++) if (isQuery || !this.#skip.has(ids[t]!)) keep.push(t);
    return { ids, attended, keep: Int32Array.from(keep) };
  }

  /** The token strings behind the vectors `encodeTokens` returns for `text` (one per vector). */
  tokenStrings(text: string, role: 'query' | 'document'): string[] {
    const input = this.prepare(text, role);
    return Array.from(input.keep, (t) => this.#model.tokenizer.idToToken(input.ids[t]!) ?? `#${input.ids[t]}`);
  }

  async #run(inputs: readonly ColbertInput[], signal?: AbortSignal): Promise<RaggedMatrix> {
    const parts: Float32Array[] = new Array(inputs.length);
    let H = 0;
    // PyLate folders list the projection as a Dense module (1_Dense) after a transformer-only export;
    // an export that already ends in the projection outputs its width and skips it.
    const dense = this.#model.folder.dense ?? [];
    await this.#model.runIds(
      inputs.map((i) => i.ids),
      this.#output,
      ({ items, data, dims }) => {
        const L = dims[1]!;
        const width = dims[2]!;
        const project = dense.length > 0 && dense[0]!.inFeatures === width;
        for (const [b, item] of items.entries()) {
          const keep = inputs[item]!.keep;
          let out: Float32Array = new Float32Array(keep.length * width);
          keep.forEach((t, r) => out.set(data.subarray((b * L + t) * width, (b * L + t + 1) * width), r * width));
          H = width;
          if (project) ({ data: out, width: H } = applyDense(dense, out, keep.length, width));
          parts[item] = out;
        }
      },
      { signal, attended: inputs.map((i) => i.attended) },
    );
    const offsets = new Int32Array(inputs.length + 1);
    parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length / H));
    const data = new Float32Array(offsets[inputs.length]! * H);
    parts.forEach((p, i) => data.set(p, offsets[i]! * H));
    return { dim: H, offsets, data };
  }

  async encodeTokens(texts: readonly string[], options: EncodeOptions): Promise<RaggedMatrix> {
    const dim = options.dim ?? this.dim;
    checkMatryoshkaDim(dim, this.dim);
    const full = await this.#run(
      texts.map((t) => this.prepare(t, options.role)),
      options.signal,
    );
    const rows = full.offsets[texts.length]!;
    const data = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      let norm = 0;
      for (let j = 0; j < dim; j++) {
        const v = full.data[r * full.dim + j]!;
        data[r * dim + j] = v;
        norm += v * v;
      }
      if (norm > 0) for (let j = 0; j < dim; j++) data[r * dim + j]! /= Math.sqrt(norm);
    }
    return { dim, offsets: full.offsets, data };
  }

  release(): Promise<void> {
    return this.#model.release();
  }
}
