import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { checkOptions, throwIfAborted, type EncodeOptions, type Encoder, type Matrix, type RaggedMatrix, type TokenEncoder } from '@quarry/core';
import { ModelInvalidError } from './errors.js';
import { halfArrayToFloat32 } from './half.js';
import { onnxEncoderOptionsSchema, openModelFolder, type EncoderConfig, type EncoderConfigInput, type ModelFolder } from './model-folder.js';
import { applyDense, type PooledMode } from './st-folder.js';
import { TextTokenizer } from './tokenizer.js';
import { matrix, normalizeInPlace, packRagged, resolveDim, textsArray } from './vectors.js';

export interface OnnxEncoderOptions extends Partial<EncoderConfigInput> {
  /** onnxruntime intra-op threads (default: all cores, at most 4). */
  threads?: number;
  /** Texts per inference call (default 32); batches are length-sorted and padded to their longest text. */
  batchSize?: number;
  /** Use the fast WordPiece path where the tokenizer allows (default true). */
  fastTokenizer?: boolean;
  /** Run the folder's int8 export (onnx/model_quantized.onnx, model_int8.onnx) instead of model.onnx. */
  quantized?: boolean;
}

const ID_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'] as const;
const TEXT_OUTPUTS = ['sentence_embedding', 'last_hidden_state', 'token_embeddings'];
const TOKEN_OUTPUTS = ['token_embeddings', 'last_hidden_state'];

type IdInput = (typeof ID_INPUTS)[number];

export interface OutputInfo {
  name: string;
  rank: number;
}

export interface BatchResult {
  /** Row indices (into the caller's texts) of this batch, in batch order. */
  items: number[];
  /** Token counts of each item (special tokens included). */
  lengths: number[];
  /** Float32 output values and their dims. */
  data: Float32Array;
  dims: number[];
}

/**
 * A loaded ONNX model with its tokenizer and config; shared by OnnxEncoder and
 * OnnxTokenEncoder. Validates the graph's inputs and outputs when loading, so a wrong
 * folder fails early with a message that names the offending file or tensor.
 */
export class OnnxModel {
  readonly folder: ModelFolder;
  readonly config: EncoderConfig;
  readonly tokenizer: TextTokenizer;
  readonly session: ort.InferenceSession;
  readonly batchSize: number;
  readonly #inputs: Map<IdInput, 'int64' | 'int32'>;
  readonly #maxId: number | undefined;

  private constructor(folder: ModelFolder, tokenizer: TextTokenizer, session: ort.InferenceSession, inputs: Map<IdInput, 'int64' | 'int32'>, batchSize: number) {
    this.folder = folder;
    this.config = folder.config;
    this.tokenizer = tokenizer;
    this.session = session;
    this.#inputs = inputs;
    this.batchSize = batchSize;
    this.#maxId = folder.config.model?.vocabSize;
  }

  static async load(dir: string, options: OnnxEncoderOptions = {}): Promise<OnnxModel> {
    checkOptions(onnxEncoderOptionsSchema, options, `encoder options for ${dir}`);
    const { threads, batchSize, fastTokenizer, quantized, ...overrides } = options;
    const folder = await openModelFolder(dir, overrides, { quantized });
    const tokenizer = TextTokenizer.fromDir(folder.tokenizerDir, { fast: fastTokenizer ?? true });
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(folder.modelFile, {
        intraOpNumThreads: threads ?? Math.min(4, availableParallelism()),
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      });
    } catch (error) {
      throw new ModelInvalidError(folder.modelFile, `onnxruntime could not load it (${(error as Error).message}).`, {}, { cause: error });
    }
    const inputs = new Map<IdInput, 'int64' | 'int32'>();
    const names = session.inputNames;
    if (!names.includes('input_ids')) {
      throw new ModelInvalidError(
        folder.modelFile,
        `has no graph input "input_ids" (its inputs: ${names.join(', ') || 'none'}); expected input_ids [batch, sequence] and optionally attention_mask, token_type_ids, position_ids.`,
        { inputs: names },
      );
    }
    for (const meta of session.inputMetadata) {
      if (!(ID_INPUTS as readonly string[]).includes(meta.name)) {
        throw new ModelInvalidError(folder.modelFile, `has an unexpected graph input "${meta.name}"; an encoder takes input_ids and optionally ${ID_INPUTS.slice(1).join(', ')}.`, {
          input: meta.name,
        });
      }
      const type = meta.isTensor ? meta.type : 'non-tensor';
      if (type !== 'int64' && type !== 'int32') {
        throw new ModelInvalidError(folder.modelFile, `graph input "${meta.name}" has type ${type}; expected int64 (or int32) token ids/masks.`, { input: meta.name, type });
      }
      if (meta.isTensor && meta.shape.length !== 0 && meta.shape.length !== 2) {
        throw new ModelInvalidError(folder.modelFile, `graph input "${meta.name}" has rank ${meta.shape.length}; expected rank 2 [batch, sequence].`, { input: meta.name });
      }
      inputs.set(meta.name as IdInput, type);
    }
    const model = new OnnxModel(folder, tokenizer, session, inputs, batchSize ?? 32);
    return model;
  }

  /** Picks and checks a graph output: `wanted` if set, else the first present of `candidates`. */
  resolveOutput(wanted: string | undefined, candidates: readonly string[], ranks: readonly number[], purpose: string): OutputInfo {
    const outputs = this.session.outputMetadata;
    const describe = (): string => outputs.map((o) => (o.isTensor ? `${o.name} [${o.shape.join(', ')}] ${o.type}` : o.name)).join('; ');
    const name = wanted ?? candidates.find((c) => this.session.outputNames.includes(c));
    if (name === undefined) {
      throw new ModelInvalidError(
        this.folder.modelFile,
        `has no output usable for ${purpose}: expected one of ${candidates.join(', ')} (or set "output" in quarry-encoder.json); its outputs: ${describe()}. A model that only outputs logits can be fixed with exposeGraphOutput().`,
        { outputs: this.session.outputNames },
      );
    }
    const meta = outputs.find((o) => o.name === name);
    if (!meta) throw new ModelInvalidError(this.folder.modelFile, `has no output named "${name}" (configured in quarry-encoder.json); its outputs: ${describe()}.`, { output: name });
    if (!meta.isTensor || (meta.type !== 'float32' && meta.type !== 'float16')) {
      throw new ModelInvalidError(this.folder.modelFile, `output "${name}" has type ${meta.isTensor ? meta.type : 'non-tensor'}; expected float32 or float16.`, { output: name });
    }
    const rank = meta.shape.length;
    if (rank !== 0 && !ranks.includes(rank)) {
      throw new ModelInvalidError(
        this.folder.modelFile,
        `output "${name}" has rank ${rank} [${meta.shape.join(', ')}]; ${purpose} with pooling "${this.config.pooling}" expects rank ${ranks.join(' or ')} (${ranks.includes(3) ? '[batch, sequence, hidden]' : '[batch, dim]'}).`,
        { output: name, rank },
      );
    }
    return { name, rank };
  }

  /**
   * How many leading tokens of a `role` text are the prompt, as sentence-transformers counts them
   * for `include_prompt: false`: the prompt tokenised alone (special tokens and length cap
   * included), less a trailing special token. 0 without a prompt.
   */
  promptTokens(role: EncodeOptions['role']): number {
    const prefix = role === 'query' ? this.config.queryPrefix : this.config.documentPrefix;
    if (prefix === '') return 0;
    const lower = this.config.lowercase === true;
    const ids = this.tokenizer.encode(lower ? prefix.toLowerCase() : prefix, { maxLength: this.config.maxLength, addSpecialTokens: this.config.addSpecialTokens });
    return ids.length > 0 && this.tokenizer.isSpecial(ids[ids.length - 1]!) ? ids.length - 1 : ids.length;
  }

  /** Tokenises (with the role's prefix), sorts by length, runs length-homogeneous padded batches. */
  async run(texts: readonly string[], options: EncodeOptions, output: OutputInfo, onBatch: (batch: BatchResult) => void): Promise<void> {
    const prefix = options.role === 'query' ? this.config.queryPrefix : this.config.documentPrefix;
    // sentence-transformers prepends the prompt as text, then lowercases when do_lower_case is set.
    const lower = this.config.lowercase === true;
    const ids = texts.map((t) => this.tokenizer.encode(lower ? (prefix + t).toLowerCase() : prefix + t, { maxLength: this.config.maxLength, addSpecialTokens: this.config.addSpecialTokens }));
    await this.runIds(ids, output, onBatch, { signal: options.signal });
  }

  /**
   * Runs token id sequences (already built, e.g. with ColBERT's markers and [MASK] padding)
   * in length-sorted padded batches. `attended[i]` (default: the whole sequence) is how many
   * leading tokens of item i the attention mask covers.
   */
  async runIds(ids: readonly Int32Array[], output: OutputInfo, onBatch: (batch: BatchResult) => void, options: { signal?: AbortSignal; attended?: readonly number[] } = {}): Promise<void> {
    if (this.#maxId !== undefined) {
      for (const [i, seq] of ids.entries())
        for (const id of seq)
          if (id >= this.#maxId)
            throw new ModelInvalidError(this.folder.modelFile, `token id ${id} of text ${i} is outside the model's vocabulary (${this.#maxId}); tokenizer.json does not belong to this model.`);
    }
    const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length || a - b);
    for (let start = 0; start < order.length; start += this.batchSize) {
      throwIfAborted(options.signal, 'encoding');
      const items = order.slice(start, start + this.batchSize);
      const lengths = items.map((i) => ids[i]!.length);
      const L = Math.max(1, ...lengths);
      const B = items.length;
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, type] of this.#inputs) {
        // int64 tensors are filled through an Int32 view (low word = value, high word = 0;
        // every value here is a small non-negative integer) instead of one BigInt per element.
        const big = type === 'int64' ? new BigInt64Array(B * L) : undefined;
        const values = big ? new Int32Array(big.buffer) : new Int32Array(B * L);
        const stride = big ? 2 : 1;
        items.forEach((item, b) => {
          const seq = ids[item]!;
          const attended = options.attended?.[item] ?? seq.length;
          const row = b * L;
          for (let t = 0; t < L; t++) {
            const inside = t < seq.length;
            values[(row + t) * stride] = name === 'input_ids' ? (inside ? seq[t]! : this.tokenizer.padId) : name === 'attention_mask' ? (t < attended ? 1 : 0) : name === 'position_ids' ? t : 0;
          }
        });
        feeds[name] = big ? new ort.Tensor('int64', big, [B, L]) : new ort.Tensor('int32', values, [B, L]);
      }
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await this.session.run(feeds, [output.name]);
      } catch (error) {
        throw new ModelInvalidError(
          this.folder.modelFile,
          `inference failed (${(error as Error).message}). Check that tokenizer.json belongs to this model (token ids within its vocabulary).`,
          {},
          { cause: error },
        );
      }
      const tensor = result[output.name]!;
      const dims = tensor.dims.map(Number);
      if (dims.length !== output.rank && output.rank !== 0) {
        throw new ModelInvalidError(this.folder.modelFile, `output "${output.name}" came back with rank ${dims.length}, expected ${output.rank}.`);
      }
      const data = tensor.type === 'float16' ? halfArrayToFloat32(tensor.data as Uint16Array) : (tensor.data as Float32Array);
      onBatch({ items, lengths, data, dims });
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Text vectors from an ONNX model folder (Hugging Face export or Quarry's own): pooling as
 * sentence-transformers' Pooling module (`cls`, `mean`, `max`, `lasttoken`, `weightedmean`,
 * `mean_sqrt_len_tokens`) or `none` (the graph already outputs [batch, dim]); then the
 * folder's Dense modules; optional L2 normalisation; Matryoshka `dim` keeps a prefix of each
 * vector (re-normalised), as sentence-transformers' `truncate_dim`.
 */
export class OnnxEncoder implements Encoder {
  readonly dim: number;
  readonly model: OnnxModel;
  readonly #output: OutputInfo;

  private constructor(model: OnnxModel, output: OutputInfo, dim: number) {
    this.model = model;
    this.#output = output;
    this.dim = dim;
  }

  static async load(dir: string, options: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    const model = await OnnxModel.load(dir, options);
    return OnnxEncoder.fromModel(model);
  }

  static async fromModel(model: OnnxModel): Promise<OnnxEncoder> {
    const pooled = model.config.pooling === 'none';
    const candidates = pooled ? ['sentence_embedding', 'pooler_output', 'embeddings'] : TEXT_OUTPUTS.filter((o) => o !== 'sentence_embedding');
    const output = model.resolveOutput(model.config.output, candidates, pooled ? [2] : [3], 'text vectors');
    const probe = new OnnxEncoder(model, output, 0);
    const dim = (await probe.#encodeFull(['dimension probe'], { role: 'document' })).cols;
    return new OnnxEncoder(model, output, dim);
  }

  async #encodeFull(texts: readonly string[], options: EncodeOptions): Promise<Matrix> {
    const { pooling, includePrompt } = this.model.config;
    const modes = Array.isArray(pooling) ? pooling : [pooling];
    // include_prompt: false pools from the first token after the prompt.
    const start = includePrompt ? 0 : this.model.promptTokens(options.role);
    let out: Float32Array | undefined;
    let cols = 0;
    await this.model.run(texts, options, this.#output, ({ items, lengths, data, dims }) => {
      const rank = dims.length;
      if (pooling === 'none' ? rank !== 2 : rank !== 3) {
        throw new ModelInvalidError(this.model.folder.modelFile, `output "${this.#output.name}" has rank ${rank}; pooling "${pooling}" expects rank ${pooling === 'none' ? 2 : 3}.`);
      }
      const H = dims[rank - 1]!;
      if (!out) {
        cols = H * modes.length;
        out = new Float32Array(texts.length * cols);
      }
      const L = rank === 3 ? dims[1]! : 1;
      items.forEach((item, b) => {
        if (pooling === 'none') out!.set(data.subarray(b * H, (b + 1) * H), item * H);
        else for (const [k, mode] of (modes as PooledMode[]).entries()) poolInto(mode, data, b * L * H, lengths[b]!, H, out!, item * cols + k * H, start);
      });
    });
    const dense = this.model.folder.dense ?? [];
    if (dense.length && out) {
      const projected = applyDense(dense, out, texts.length, cols);
      return matrix(texts.length, projected.width, projected.data);
    }
    return matrix(texts.length, cols, out ?? new Float32Array(0));
  }

  async encode(texts: readonly string[], options: EncodeOptions): Promise<Matrix> {
    textsArray(texts);
    const dim = resolveDim(options.dim, this.dim);
    if (texts.length === 0) return matrix(0, dim);
    const full = await this.#encodeFull(texts, options);
    const data = dim === full.cols ? full.data : new Float32Array(texts.length * dim);
    if (dim !== full.cols) for (let i = 0; i < texts.length; i++) data.set(full.data.subarray(i * full.cols, i * full.cols + dim), i * dim);
    if (this.model.config.normalize) for (let i = 0; i < texts.length; i++) normalizeInPlace(data, i * dim, dim);
    return matrix(texts.length, dim, data);
  }

  release(): Promise<void> {
    return this.model.release();
  }
}

/**
 * Pools token vectors `start..n-1` (width H) of one sequence starting at `base`, as
 * sentence-transformers' Pooling does with right padding (`n` = attended tokens; `start` > 0
 * leaves the prompt out, `include_prompt: false`). With nothing left to pool it returns what
 * sentence-transformers returns: the first token for cls, -Infinity for max, zeros otherwise.
 */
export function poolInto(mode: PooledMode, data: Float32Array, base: number, n: number, H: number, out: Float32Array, o: number, start = 0): void {
  const empty = start >= n;
  switch (mode) {
    case 'cls':
      out.set(data.subarray(base + (empty ? 0 : start) * H, base + ((empty ? 0 : start) + 1) * H), o);
      return;
    case 'lasttoken':
      if (empty) out.fill(0, o, o + H);
      else out.set(data.subarray(base + (n - 1) * H, base + n * H), o);
      return;
    case 'max':
      for (let j = 0; j < H; j++) {
        let m = -Infinity;
        for (let t = start; t < n; t++) m = Math.max(m, data[base + t * H + j]!);
        out[o + j] = m;
      }
      return;
    default: {
      // mean, mean_sqrt_len_tokens, weightedmean (weights 1..n by absolute position).
      const weighted = mode === 'weightedmean';
      let total = 0;
      out.fill(0, o, o + H);
      for (let t = start; t < n; t++) {
        const w = weighted ? t + 1 : 1;
        total += w;
        const row = base + t * H;
        for (let j = 0; j < H; j++) out[o + j]! += w * data[row + j]!;
      }
      const div = Math.max(mode === 'mean_sqrt_len_tokens' ? Math.sqrt(total) : total, 1e-9);
      for (let j = 0; j < H; j++) out[o + j]! /= div;
    }
  }
}

/** One vector per token (late interaction, e.g. ColBERT) from an ONNX model's rank-3 output; padding is dropped. */
export class OnnxTokenEncoder implements TokenEncoder {
  readonly dim: number;
  readonly model: OnnxModel;
  readonly #output: OutputInfo;

  private constructor(model: OnnxModel, output: OutputInfo, dim: number) {
    this.model = model;
    this.#output = output;
    this.dim = dim;
  }

  static async load(dir: string, options: OnnxEncoderOptions = {}): Promise<OnnxTokenEncoder> {
    return OnnxTokenEncoder.fromModel(await OnnxModel.load(dir, options));
  }

  static async fromModel(model: OnnxModel): Promise<OnnxTokenEncoder> {
    const output = model.resolveOutput(model.config.tokenOutput, TOKEN_OUTPUTS, [3], 'token vectors');
    const probe = new OnnxTokenEncoder(model, output, 0);
    const dim = (await probe.#encodeFull(['dimension probe'], { role: 'document' })).dim;
    return new OnnxTokenEncoder(model, output, dim);
  }

  async #encodeFull(texts: readonly string[], options: EncodeOptions): Promise<RaggedMatrix> {
    const parts: Float32Array[] = new Array(texts.length);
    let H = 0;
    await this.model.run(texts, options, this.#output, ({ items, lengths, data, dims }) => {
      if (dims.length !== 3) throw new ModelInvalidError(this.model.folder.modelFile, `output "${this.#output.name}" has rank ${dims.length}; token vectors need rank 3 [batch, sequence, hidden].`);
      const L = dims[1]!;
      H = dims[2]!;
      items.forEach((item, b) => {
        parts[item] = data.slice(b * L * H, (b * L + lengths[b]!) * H);
      });
    });
    return packRagged(parts, H);
  }

  async encodeTokens(texts: readonly string[], options: EncodeOptions): Promise<RaggedMatrix> {
    textsArray(texts);
    const dim = resolveDim(options.dim, this.dim);
    if (texts.length === 0) return { dim, offsets: new Int32Array(1), data: new Float32Array(0) };
    const full = await this.#encodeFull(texts, options);
    const rows = full.offsets[texts.length]!;
    const data = dim === full.dim ? full.data : new Float32Array(rows * dim);
    if (dim !== full.dim) for (let r = 0; r < rows; r++) data.set(full.data.subarray(r * full.dim, r * full.dim + dim), r * dim);
    if (this.model.config.normalize) for (let r = 0; r < rows; r++) normalizeInPlace(data, r * dim, dim);
    return { dim, offsets: full.offsets, data };
  }

  release(): Promise<void> {
    return this.model.release();
  }
}
