import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  bytesOf,
  DimensionMismatchError,
  IndexCorruptError,
  InputError,
  openIndexDir,
  readTypedFile,
  saveIndexDir,
  SeededRandom,
  throwIfAborted,
  type Doc,
  type DocStore,
  type ProgressCallback,
  type RaggedMatrix,
  type SaveIndexOptions,
  type TokenEncoder,
} from '@quarry/core';
import { floatToHalf, halfToFloat } from '@quarry/encoders';
import { Gemm } from './gemm.js';
import { encodeDocumentTokens } from './retriever.js';
import { sphericalKMeans } from './kmeans.js';
import { ResidualCodec } from './residual-codec.js';

/**
 * How stored document token vectors are kept:
 * - `fp32`: as encoded (4 bytes per dimension; scores equal on-the-fly encoding).
 * - `fp16`: IEEE half precision, round to nearest even (2 bytes per dimension).
 * - `int8`: symmetric per-token scale, `round(v / (max|v| / 127))` (1 byte per dimension + 4 per token).
 * - `residual-4` / `residual-2`: ColBERTv2's residual compression (nearest of `centroids`
 *   centroids + 4 or 2 bits per dimension; the codec PLAID uses), 4 bytes of centroid id per token.
 */
export type TokenPrecision = 'fp32' | 'fp16' | 'int8' | 'residual-4' | 'residual-2';
export const TOKEN_PRECISIONS: readonly TokenPrecision[] = ['fp32', 'fp16', 'int8', 'residual-4', 'residual-2'];

export const TOKEN_STORE_FORMAT = 'quarry-colbert-tokens';
export const TOKEN_STORE_VERSION = 1;

export interface TokenStoreMeta {
  dim: number;
  precision: TokenPrecision;
  /** The token model (`<folder>@<sha256>`) the vectors came from; checked at load. */
  model: string;
  docs: number;
  tokens: number;
  /** Residual precisions: centroid count. */
  centroids?: number;
}

export interface TokenStoreBuildOptions {
  dim?: number;
  precision?: TokenPrecision;
  model: string;
  /** Texts per encoder call (default 64). */
  batchSize?: number;
  /** Residual precisions: centroids (default 1024) and the token sample they are fitted on (default 65536). */
  centroids?: number;
  sampleTokens?: number;
  /** onnxruntime threads of the k-means GEMM (residual precisions). */
  threads?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** The source the MaxSim kernel gathers from: per item a token count and a way to write its fp32 vectors. */
export interface TokenSource {
  readonly dim: number;
  /** Items held. */
  readonly size: number;
  /** Tokens of item `i`. */
  tokens(i: number): number;
  /** Writes item `i`'s `tokens(i) x dim` fp32 values (L2-normalised rows) into `out` at `offset`. */
  write(i: number, out: Float32Array, offset: number): void;
}

// fp16 -> fp32 through a 64K-entry table (Node 20 has no Float16Array); encoding is @quarry/encoders' floatToHalf.
let halfTable: Float32Array | undefined;

function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  return halfTable;
}

/**
 * Document token vectors computed once (at index time) and kept in one contiguous typed
 * array per field, `offsets[i] .. offsets[i + 1]` being document `i`'s tokens: a reranker
 * gathers its candidates from here (decoding on the way for compact precisions) instead of
 * encoding them per query. Saved and loaded as a checksummed index folder.
 */
export class DocTokenStore implements TokenSource {
  readonly dim: number;
  readonly precision: TokenPrecision;
  readonly meta: TokenStoreMeta;
  readonly ids: readonly string[];
  readonly offsets: Int32Array;
  /** fp32: Float32Array; fp16: Uint16Array; int8: Int8Array; residual: packed Uint8Array. */
  readonly data: Float32Array | Uint16Array | Int8Array | Uint8Array;
  /** int8: per-token scale. */
  readonly scales: Float32Array | undefined;
  /** Residual: per-token centroid id, the centroids and the codec. */
  readonly codes: Int32Array | undefined;
  readonly centroids: Float32Array | undefined;
  readonly codec: ResidualCodec | undefined;
  readonly #slots: Map<string, number>;
  readonly #half = halfToFloatTable();

  private constructor(
    meta: TokenStoreMeta,
    ids: readonly string[],
    offsets: Int32Array,
    data: DocTokenStore['data'],
    extra: { scales?: Float32Array; codes?: Int32Array; centroids?: Float32Array; codec?: ResidualCodec } = {},
  ) {
    this.meta = meta;
    this.dim = meta.dim;
    this.precision = meta.precision;
    this.ids = ids;
    this.offsets = offsets;
    this.data = data;
    this.scales = extra.scales;
    this.codes = extra.codes;
    this.centroids = extra.centroids;
    this.codec = extra.codec;
    this.#slots = new Map(ids.map((id, i) => [id, i]));
  }

  get size(): number {
    return this.ids.length;
  }

  get tokenCount(): number {
    return this.offsets[this.ids.length]!;
  }

  /** Bytes of storage per token (vectors, scales or centroid ids). */
  get bytesPerToken(): number {
    return bytesPerToken(this.precision, this.dim);
  }

  /** The slot of a stored document, or undefined. */
  slotOf(id: string): number | undefined {
    return this.#slots.get(id);
  }

  tokens(slot: number): number {
    return this.offsets[slot + 1]! - this.offsets[slot]!;
  }

  /** Writes document `slot`'s fp32 token vectors into `out` at `offset` (decoding compact precisions). */
  write(slot: number, out: Float32Array, offset: number): void {
    const dim = this.dim;
    const t0 = this.offsets[slot]!;
    const t1 = this.offsets[slot + 1]!;
    // One function per element type: each load site then sees a single typed-array class.
    switch (this.precision) {
      case 'fp32':
        out.set((this.data as Float32Array).subarray(t0 * dim, t1 * dim), offset);
        return;
      case 'fp16':
        decodeHalf(this.data as Uint16Array, t0 * dim, t1 * dim, this.#half, out, offset);
        return;
      case 'int8':
        decodeInt8(this.data as Int8Array, this.scales!, t0, t1, dim, out, offset);
        return;
      default: {
        const codec = this.codec!;
        const bpt = codec.bytesPerToken;
        for (let t = t0, o = offset; t < t1; t++, o += dim) codec.decode(this.data as Uint8Array, t * bpt, this.centroids!, this.codes![t]!, out, o);
      }
    }
  }

  /** Document `slot`'s fp32 token vectors as a one-item ragged matrix. */
  matrix(slot: number): RaggedMatrix {
    const n = this.tokens(slot);
    const data = new Float32Array(n * this.dim);
    this.write(slot, data, 0);
    return { dim: this.dim, offsets: Int32Array.of(0, n), data };
  }

  /**
   * The same vectors at another precision, from an fp32 store (no re-encoding): e.g. to
   * compare precisions on one encoding. Residual precisions fit their centroids on a
   * random sample of the stored tokens.
   */
  async convert(precision: TokenPrecision, options: Omit<TokenStoreBuildOptions, 'dim' | 'precision' | 'model' | 'batchSize'> = {}): Promise<DocTokenStore> {
    if (this.precision !== 'fp32') throw new InputError(`convert: only an fp32 store can be converted (this one is ${this.precision}).`);
    const dim = this.dim;
    const src = this.data as Float32Array;
    const tokens = this.tokenCount;
    const gemm = new Gemm(options.threads ?? 2);
    try {
      let fitted: { codec: ResidualCodec; centroids: Float32Array } | undefined;
      if (precision === 'residual-4' || precision === 'residual-2') {
        const budget = Math.min(tokens, options.sampleTokens ?? 1 << 16);
        const rng = new SeededRandom(options.seed ?? 12345);
        const sample = new Float32Array(budget * dim);
        for (let r = 0; r < budget; r++) {
          const t = rng.int(tokens);
          sample.set(src.subarray(t * dim, (t + 1) * dim), r * dim);
        }
        fitted = await fitCodec(sample, dim, precision === 'residual-4' ? 4 : 2, gemm, options);
      }
      const chunk = 1 << 15;
      const parts: { data: DocTokenStore['data']; scales?: Float32Array; codes?: Int32Array }[] = [];
      for (let t = 0; t < tokens; t += chunk) {
        throwIfAborted(options.signal, 'ColBERT token store conversion');
        parts.push(await compress(src.subarray(t * dim, Math.min(tokens, t + chunk) * dim), dim, precision, fitted?.codec, fitted?.centroids, gemm));
      }
      return DocTokenStore.#assemble({ ...this.meta, precision, ...(fitted ? { centroids: fitted.centroids.length / dim } : {}) }, [...this.ids], this.offsets.slice(), parts, fitted);
    } finally {
      await gemm.release();
    }
  }

  static #assemble(
    meta: TokenStoreMeta,
    ids: string[],
    offsets: Int32Array,
    parts: { data: DocTokenStore['data']; scales?: Float32Array; codes?: Int32Array }[],
    fitted: { codec: ResidualCodec; centroids: Float32Array } | undefined,
  ): DocTokenStore {
    const { precision, dim, tokens } = meta;
    const data = concat(
      parts.map((p) => p.data),
      emptyData(precision, tokens, dim),
    );
    const scales = precision === 'int8' ? concat<Float32Array>(parts.map((p) => p.scales!) as Float32Array[], new Float32Array(tokens)) : undefined;
    const codes = fitted ? concat<Int32Array>(parts.map((p) => p.codes!) as Int32Array[], new Int32Array(tokens)) : undefined;
    return new DocTokenStore(meta, ids, offsets, data, { ...(scales ? { scales } : {}), ...(codes && fitted ? { codes, centroids: fitted.centroids, codec: fitted.codec } : {}) });
  }

  /**
   * Encodes every document once and stores its token vectors at `precision` (default fp32).
   * Blank documents (core's isBlankDoc) are stored with no tokens. Residual precisions first
   * fit centroids and the codec on a sample of documents spread over the collection.
   */
  static async build(docs: DocStore | Iterable<Doc>, encoder: TokenEncoder, options: TokenStoreBuildOptions): Promise<DocTokenStore> {
    const dim = options.dim ?? encoder.dim;
    const precision = options.precision ?? 'fp32';
    if (!TOKEN_PRECISIONS.includes(precision)) throw new InputError(`precision must be one of ${TOKEN_PRECISIONS.join(', ')}; got ${String(precision)}.`);
    const all = [...docs];
    const batchSize = options.batchSize ?? 64;
    const encode = async (batch: readonly Doc[]): Promise<RaggedMatrix> => {
      const m = await encodeDocumentTokens(encoder, batch, dim, options.signal);
      if (m.dim !== dim) throw new DimensionMismatchError(dim, m.dim, 'document token vectors');
      return m;
    };

    let codec: ResidualCodec | undefined;
    let centroids: Float32Array | undefined;
    const gemm = new Gemm(options.threads ?? 2);
    try {
      if (precision === 'residual-4' || precision === 'residual-2') {
        ({ codec, centroids } = await fitResidualCodec(all, encode, dim, precision === 'residual-4' ? 4 : 2, gemm, options, batchSize));
      }
      const ids = all.map((d) => d.id);
      if (new Set(ids).size !== ids.length) throw new InputError('DocTokenStore.build: document ids must be unique.');
      const offsets = new Int32Array(all.length + 1);
      const parts: { data: DocTokenStore['data']; scales?: Float32Array; codes?: Int32Array }[] = [];
      for (let start = 0; start < all.length; start += batchSize) {
        throwIfAborted(options.signal, 'ColBERT token store build');
        const batch = all.slice(start, start + batchSize);
        const m = await encode(batch);
        for (let i = 0; i < batch.length; i++) offsets[start + i + 1] = offsets[start]! + m.offsets[i + 1]!;
        parts.push(await compress(m.data, dim, precision, codec, centroids, gemm));
        options.onProgress?.({ phase: 'storing token vectors', done: Math.min(all.length, start + batchSize), total: all.length });
      }
      const tokens = offsets[all.length]!;
      const fitted = codec && centroids ? { codec, centroids } : undefined;
      const meta: TokenStoreMeta = { dim, precision, model: options.model, docs: all.length, tokens, ...(centroids ? { centroids: centroids.length / dim } : {}) };
      return DocTokenStore.#assemble(meta, ids, offsets, parts, fitted);
    } finally {
      await gemm.release();
    }
  }

  /** Writes the store to `dir` atomically (manifest with checksums of every file). */
  async save(dir: string, options: SaveIndexOptions = {}): Promise<void> {
    await saveIndexDir(
      dir,
      { format: TOKEN_STORE_FORMAT, version: TOKEN_STORE_VERSION, meta: { ...this.meta } },
      async (tmp) => {
        await writeFile(join(tmp, 'doc-ids.json'), JSON.stringify(this.ids));
        await writeFile(join(tmp, 'doc-offsets.i32'), bytesOf(this.offsets));
        await writeFile(join(tmp, dataFile(this.precision)), bytesOf(this.data));
        if (this.scales) await writeFile(join(tmp, 'scales.f32'), bytesOf(this.scales));
        if (this.codes) {
          await writeFile(join(tmp, 'codes.i32'), bytesOf(this.codes));
          await writeFile(join(tmp, 'centroids.f32'), bytesOf(this.centroids!));
          await writeFile(join(tmp, 'codec.f32'), bytesOf(Float32Array.from([...this.codec!.cutoffs, ...this.codec!.weights])));
        }
      },
      options,
    );
  }

  /** Reads a saved store (a read: every file straight into one typed array, after its checksum is verified). */
  static async load(dir: string): Promise<DocTokenStore> {
    const manifest = await openIndexDir(dir, TOKEN_STORE_FORMAT, [TOKEN_STORE_VERSION], { required: ['doc-ids.json', 'doc-offsets.i32'] });
    const meta = manifest.meta as unknown as TokenStoreMeta;
    if (!TOKEN_PRECISIONS.includes(meta.precision) || !Number.isInteger(meta.dim) || meta.dim < 1) throw new IndexCorruptError('its manifest names no valid dim / precision; rebuild it', dir);
    const residual = meta.precision === 'residual-4' || meta.precision === 'residual-2';
    const required = [dataFile(meta.precision), ...(meta.precision === 'int8' ? ['scales.f32'] : []), ...(residual ? ['codes.i32', 'centroids.f32', 'codec.f32'] : [])];
    const missing = required.filter((f) => !Object.hasOwn(manifest.files, f));
    if (missing.length) throw new IndexCorruptError(`its manifest does not list ${missing.join(', ')}; rebuild it`, dir);
    const ids = JSON.parse(await readFile(join(dir, 'doc-ids.json'), 'utf8')) as string[];
    const offsets = readTypedFile(join(dir, 'doc-offsets.i32'), Int32Array);
    const ctor = { fp32: Float32Array, fp16: Uint16Array, int8: Int8Array, 'residual-4': Uint8Array, 'residual-2': Uint8Array }[meta.precision];
    const data = readTypedFile(join(dir, dataFile(meta.precision)), ctor as typeof Uint8Array) as DocTokenStore['data'];
    const tokens = offsets[ids.length];
    const extra: { scales?: Float32Array; codes?: Int32Array; centroids?: Float32Array; codec?: ResidualCodec } = {};
    if (meta.precision === 'int8') extra.scales = readTypedFile(join(dir, 'scales.f32'), Float32Array);
    if (residual) {
      const nbits = meta.precision === 'residual-4' ? 4 : 2;
      const values = readTypedFile(join(dir, 'codec.f32'), Float32Array);
      const buckets = 1 << nbits;
      if (values.length !== 2 * buckets - 1) throw new IndexCorruptError('codec.f32 has the wrong size; rebuild it', dir);
      extra.codec = new ResidualCodec(meta.dim, nbits, values.slice(0, buckets - 1), values.slice(buckets - 1));
      extra.codes = readTypedFile(join(dir, 'codes.i32'), Int32Array);
      extra.centroids = readTypedFile(join(dir, 'centroids.f32'), Float32Array);
    }
    const perToken = residual ? extra.codec!.bytesPerToken : meta.dim;
    if (
      offsets.length !== ids.length + 1 ||
      tokens !== meta.tokens ||
      data.length !== tokens * perToken ||
      (extra.scales && extra.scales.length !== tokens) ||
      (extra.codes && (extra.codes.length !== tokens || extra.centroids!.length % meta.dim !== 0))
    ) {
      throw new IndexCorruptError('its files disagree on the number of documents or tokens; rebuild it', dir);
    }
    return new DocTokenStore(meta, ids, offsets, data, extra);
  }
}

function decodeHalf(src: Uint16Array, from: number, to: number, table: Float32Array, out: Float32Array, offset: number): void {
  for (let j = from, o = offset; j < to; j++, o++) out[o] = table[src[j]!]!;
}

function decodeInt8(src: Int8Array, scales: Float32Array, t0: number, t1: number, dim: number, out: Float32Array, offset: number): void {
  for (let t = t0, o = offset; t < t1; t++) {
    const s = scales[t]!;
    const end = (t + 1) * dim;
    for (let j = t * dim; j < end; j++, o++) out[o] = src[j]! * s;
  }
}

/** Bytes per stored token at a precision and dim. */
export function bytesPerToken(precision: TokenPrecision, dim: number): number {
  switch (precision) {
    case 'fp32':
      return 4 * dim;
    case 'fp16':
      return 2 * dim;
    case 'int8':
      return dim + 4;
    case 'residual-4':
      return 4 + dim / 2;
    case 'residual-2':
      return 4 + dim / 4;
  }
}

function dataFile(precision: TokenPrecision): string {
  return { fp32: 'tokens.f32', fp16: 'tokens.f16', int8: 'tokens.i8', 'residual-4': 'residuals.u8', 'residual-2': 'residuals.u8' }[precision];
}

function emptyData(precision: TokenPrecision, tokens: number, dim: number): DocTokenStore['data'] {
  switch (precision) {
    case 'fp32':
      return new Float32Array(tokens * dim);
    case 'fp16':
      return new Uint16Array(tokens * dim);
    case 'int8':
      return new Int8Array(tokens * dim);
    default:
      return new Uint8Array(tokens * (precision === 'residual-4' ? dim / 2 : dim / 4));
  }
}

function concat<T extends DocTokenStore['data'] | Int32Array>(parts: readonly T[], out: T): T {
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}

async function compress(
  data: Float32Array,
  dim: number,
  precision: TokenPrecision,
  codec: ResidualCodec | undefined,
  centroids: Float32Array | undefined,
  gemm: Gemm,
): Promise<{ data: DocTokenStore['data']; scales?: Float32Array; codes?: Int32Array }> {
  const rows = data.length / dim;
  switch (precision) {
    case 'fp32':
      return { data: data.slice() };
    case 'fp16': {
      const out = new Uint16Array(data.length);
      for (let j = 0; j < data.length; j++) out[j] = floatToHalf(data[j]!);
      return { data: out };
    }
    case 'int8': {
      const out = new Int8Array(data.length);
      const scales = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        let max = 0;
        for (let j = r * dim; j < (r + 1) * dim; j++) max = Math.max(max, Math.abs(data[j]!));
        const scale = max / 127;
        scales[r] = scale;
        const inv = scale > 0 ? 1 / scale : 0;
        for (let j = r * dim; j < (r + 1) * dim; j++) out[j] = Math.round(data[j]! * inv);
      }
      return { data: out, scales };
    }
    default: {
      const { codes } = rows ? await gemm.assign(data, centroids!, dim) : { codes: new Int32Array(0) };
      const bpt = codec!.bytesPerToken;
      const out = new Uint8Array(rows * bpt);
      for (let r = 0; r < rows; r++) codec!.encode(data, r * dim, centroids!, codes[r]!, out, r * bpt);
      return { data: out, codes };
    }
  }
}

/** Centroids (spherical k-means) and the residual codec, fitted on tokens of documents spread over the collection. */
async function fitResidualCodec(
  all: readonly Doc[],
  encode: (batch: readonly Doc[]) => Promise<RaggedMatrix>,
  dim: number,
  nbits: 2 | 4,
  gemm: Gemm,
  options: TokenStoreBuildOptions,
  batchSize: number,
): Promise<{ codec: ResidualCodec; centroids: Float32Array }> {
  if ((dim * nbits) % 8 !== 0) throw new InputError(`residual-${nbits} storage needs dim x ${nbits} to be a multiple of 8 bits; dim is ${dim}.`);
  const budget = options.sampleTokens ?? 1 << 16;
  const rng = new SeededRandom(options.seed ?? 12345);
  const order = all.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const parts: Float32Array[] = [];
  let sampled = 0;
  for (let start = 0; start < order.length && sampled < budget; start += batchSize) {
    throwIfAborted(options.signal, 'ColBERT token store build');
    const m = await encode(order.slice(start, start + batchSize).map((i) => all[i]!));
    const take = Math.min(m.data.length / dim, budget - sampled);
    parts.push(m.data.subarray(0, take * dim));
    sampled += take;
    options.onProgress?.({ phase: 'sampling', done: sampled, total: budget });
  }
  if (sampled < 2) throw new InputError(`residual storage needs token vectors to fit its centroids; the collection has ${sampled}.`);
  return fitCodec(concat(parts, new Float32Array(sampled * dim)), dim, nbits, gemm, options);
}

/** Spherical k-means centroids on a sample of tokens, then the residual codec on the sample's residuals. */
async function fitCodec(
  sample: Float32Array,
  dim: number,
  nbits: 2 | 4,
  gemm: Gemm,
  options: { centroids?: number; seed?: number; signal?: AbortSignal },
): Promise<{ codec: ResidualCodec; centroids: Float32Array }> {
  if ((dim * nbits) % 8 !== 0) throw new InputError(`residual-${nbits} storage needs dim x ${nbits} to be a multiple of 8 bits; dim is ${dim}.`);
  const rows = sample.length / dim;
  const k = Math.max(1, Math.min(options.centroids ?? 1024, Math.floor(rows / 4) || 1));
  const centroids = await sphericalKMeans(sample, dim, k, gemm, { iterations: 4, seed: options.seed ?? 12345, ...(options.signal ? { signal: options.signal } : {}) });
  const { codes } = await gemm.assign(sample, centroids, dim);
  const residuals = new Float32Array(sample.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) residuals[r * dim + j] = sample[r * dim + j]! - centroids[codes[r]! * dim + j]!;
  return { codec: ResidualCodec.fit(residuals, dim, nbits), centroids };
}
