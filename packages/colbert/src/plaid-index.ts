import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { bytesOf, DimensionMismatchError, DuplicateIdError, IndexCorruptError, InputError, openIndexDir, readTypedFile, saveIndexDir, throwIfAborted, TopK, type RaggedMatrix } from '@quarry/core';
import type { Gemm } from './gemm.js';
import { colbertCentroidCount, sphericalKMeans } from './kmeans.js';
import type { MaxSimKernel } from './maxsim-kernel.js';
import { checkNbits, ResidualCodec, type ResidualBits } from './residual-codec.js';
import { GrowableInt32, GrowableUint8 } from './growable.js';

export const PLAID_FORMAT = 'quarry-colbert-plaid';
export const PLAID_VERSION = 1;

/** What the index was built with; a query encoder must match it (checked at load). */
export interface PlaidIndexMeta {
  dim: number;
  nbits: ResidualBits;
  /** The token encoder that produced the vectors (its folder name or a user label). */
  model: string;
  [key: string]: unknown;
}

export interface PlaidTrainOptions {
  nbits: ResidualBits;
  /** Centroid count; default ColBERTv2's 2^floor(log2(16 sqrt(tokens))), at most a quarter of the sample. */
  centroids?: number;
  /** Expected token vectors in the whole collection (for the default centroid count); default: the sample's. */
  expectedTokens?: number;
  iterations?: number;
  seed?: number;
  signal?: AbortSignal;
}

/** PLAID's search knobs; defaults follow the PLAID paper's settings for each k. */
export interface PlaidSearchOptions {
  k?: number;
  /** Centroids probed per query token for candidate generation. */
  nprobe?: number;
  /** Centroids scoring below this against every query token are ignored in the first, pruned interaction. */
  centroidScoreThreshold?: number;
  /** Candidates kept after the pruned centroid interaction (a quarter go on to exact MaxSim). */
  ndocs?: number;
  filter?: (slot: number) => boolean;
  signal?: AbortSignal;
}

export interface PlaidHit {
  slot: number;
  score: number;
}

function plaidDefaults(k: number): Required<Pick<PlaidSearchOptions, 'nprobe' | 'centroidScoreThreshold' | 'ndocs'>> {
  if (k <= 10) return { nprobe: 1, centroidScoreThreshold: 0.5, ndocs: 256 };
  if (k <= 100) return { nprobe: 2, centroidScoreThreshold: 0.45, ndocs: 1024 };
  return { nprobe: 4, centroidScoreThreshold: 0.4, ndocs: Math.max(k * 4, 4096) };
}

/**
 * A PLAID-style compressed late-interaction index (ColBERTv2 storage + PLAID search):
 * every document token is its nearest centroid id plus a residual quantised to `nbits`
 * per dimension; inverted lists map centroids to documents. Search generates candidates
 * from the centroids nearest each query token, ranks them by centroid interaction (first
 * pruned to high-scoring centroids, then full), and scores the survivors by exact MaxSim
 * over their decompressed vectors.
 *
 * Documents live in slots; `add` appends (assigning to the existing centroids), `delete`
 * removes a document from search at once and `compact` (run by `save`) drops its data.
 */
export class PlaidIndex {
  readonly dim: number;
  readonly codec: ResidualCodec;
  readonly centroids: Float32Array;
  readonly meta: PlaidIndexMeta;
  readonly #ids: string[];
  readonly #slots = new Map<string, number>();
  readonly #alive: GrowableUint8;
  readonly #docOffsets: GrowableInt32;
  readonly #codes: GrowableInt32;
  readonly #residuals: GrowableUint8;
  #ivf: { offsets: Int32Array; docs: Int32Array } | undefined;
  /** Sizes seen by the last search (candidates generated, centroids kept by pruning), for tuning. */
  lastSearch: { candidates: number; kept: number; ms?: Record<string, number> } = { candidates: 0, kept: 0 };
  #live = 0;

  private constructor(
    meta: PlaidIndexMeta,
    centroids: Float32Array,
    codec: ResidualCodec,
    data?: { ids: string[]; alive: Uint8Array; docOffsets: Int32Array; codes: Int32Array; residuals: Uint8Array },
  ) {
    this.meta = meta;
    this.dim = meta.dim;
    this.centroids = centroids;
    this.codec = codec;
    this.#ids = data?.ids ?? [];
    this.#alive = new GrowableUint8(data?.alive);
    this.#docOffsets = new GrowableInt32(data?.docOffsets ?? Int32Array.of(0));
    this.#codes = new GrowableInt32(data?.codes);
    this.#residuals = new GrowableUint8(data?.residuals);
    this.#ids.forEach((id, slot) => {
      if (this.#alive.get(slot)) {
        this.#slots.set(id, slot);
        this.#live++;
      }
    });
  }

  /** Fits centroids (spherical k-means) and the residual codec on a sample of L2-normalised token vectors. */
  static async train(sample: RaggedMatrix, model: string, gemm: Gemm, options: PlaidTrainOptions): Promise<PlaidIndex> {
    checkNbits(options.nbits);
    const dim = sample.dim;
    const rows = sample.data.length / dim;
    if (rows < 2) throw new InputError(`A PLAID index needs token vectors to train its centroids; the sample holds ${rows}. Index at least a few documents.`);
    const wanted = options.centroids ?? colbertCentroidCount(options.expectedTokens ?? rows);
    const k = Math.max(1, Math.min(wanted, Math.floor(rows / 4) || 1));
    const centroids = await sphericalKMeans(sample.data, dim, k, gemm, { iterations: options.iterations ?? 4, seed: options.seed ?? 12345, signal: options.signal });
    return PlaidIndex.fromCentroids(sample, centroids, model, gemm, options.nbits);
  }

  /** An empty index over given centroids; the residual codec is fitted on the sample's residuals. */
  static async fromCentroids(sample: RaggedMatrix, centroids: Float32Array, model: string, gemm: Gemm, nbits: ResidualBits): Promise<PlaidIndex> {
    checkNbits(nbits);
    const dim = sample.dim;
    const rows = sample.data.length / dim;
    if (centroids.length % dim !== 0 || centroids.length === 0) throw new InputError(`centroids hold ${centroids.length} values, not a positive multiple of dim ${dim}.`);
    const { codes } = await gemm.assign(sample.data, centroids, dim);
    const residuals = new Float32Array(sample.data.length);
    for (let r = 0; r < rows; r++) {
      const c = codes[r]! * dim;
      for (let j = 0; j < dim; j++) residuals[r * dim + j] = sample.data[r * dim + j]! - centroids[c + j]!;
    }
    const codec = ResidualCodec.fit(residuals, dim, nbits);
    return new PlaidIndex({ dim, nbits, model, centroids: centroids.length / dim }, centroids, codec);
  }

  get size(): number {
    return this.#live;
  }

  get centroidCount(): number {
    return this.centroids.length / this.dim;
  }

  /** Token vectors stored (deleted documents included until `compact`). */
  get tokenCount(): number {
    return this.#codes.length;
  }

  /** Bytes of compressed storage per token: a centroid id (4) plus the packed residual. */
  get bytesPerToken(): number {
    return 4 + this.codec.bytesPerToken;
  }

  has(id: string): boolean {
    return this.#slots.has(id);
  }

  idOf(slot: number): string {
    return this.#ids[slot]!;
  }

  slotOf(id: string): number | undefined {
    return this.#slots.get(id);
  }

  /** Compresses and appends documents (L2-normalised token vectors, one item per id). */
  async add(ids: readonly string[], tokens: RaggedMatrix, gemm: Gemm): Promise<void> {
    if (tokens.dim !== this.dim) throw new DimensionMismatchError(this.dim, tokens.dim, 'token vectors added to the PLAID index');
    if (tokens.offsets.length !== ids.length + 1) throw new InputError(`add: ${ids.length} ids but ${tokens.offsets.length - 1} token items.`);
    const seen = new Set<string>();
    for (const id of ids) {
      if (this.#slots.has(id) || seen.has(id)) throw new DuplicateIdError(id);
      seen.add(id);
    }
    const { codes } = await gemm.assign(tokens.data, this.centroids, this.dim);
    const bpt = this.codec.bytesPerToken;
    const packed = new Uint8Array(codes.length * bpt);
    for (let r = 0; r < codes.length; r++) this.codec.encode(tokens.data, r * this.dim, this.centroids, codes[r]!, packed, r * bpt);
    const base = this.#codes.length;
    this.#codes.append(codes);
    this.#residuals.append(packed);
    ids.forEach((id, i) => {
      const slot = this.#ids.length;
      this.#ids.push(id);
      this.#alive.push(1);
      this.#docOffsets.push(base + tokens.offsets[i + 1]!);
      this.#slots.set(id, slot);
      this.#live++;
    });
    this.#ivf = undefined;
  }

  /** Removes documents from search (their storage goes at the next `compact` or `save`); returns how many existed. */
  delete(ids: readonly string[]): number {
    let removed = 0;
    for (const id of ids) {
      const slot = this.#slots.get(id);
      if (slot === undefined) continue;
      this.#slots.delete(id);
      this.#alive.set(slot, 0);
      this.#live--;
      removed++;
    }
    if (removed > 0) this.#ivf = undefined;
    return removed;
  }

  /** Rewrites storage without deleted documents (slots are renumbered). */
  compact(): void {
    if (this.#live === this.#ids.length) return;
    const bpt = this.codec.bytesPerToken;
    const ids: string[] = [];
    const offsets = [0];
    const codes = new GrowableInt32();
    const residuals = new GrowableUint8();
    const oldOffsets = this.#docOffsets.view();
    for (let slot = 0; slot < this.#ids.length; slot++) {
      if (!this.#alive.get(slot)) continue;
      const a = oldOffsets[slot]!;
      const b = oldOffsets[slot + 1]!;
      codes.append(this.#codes.view().subarray(a, b));
      residuals.append(this.#residuals.view().subarray(a * bpt, b * bpt));
      ids.push(this.#ids[slot]!);
      offsets.push(codes.length);
    }
    this.#ids.length = 0;
    this.#ids.push(...ids);
    this.#slots.clear();
    ids.forEach((id, slot) => this.#slots.set(id, slot));
    this.#alive.reset(new Uint8Array(ids.length).fill(1));
    this.#docOffsets.reset(Int32Array.from(offsets));
    this.#codes.reset(codes.view().slice());
    this.#residuals.reset(residuals.view().slice());
    this.#ivf = undefined;
  }

  /** Inverted lists: for each centroid, the live slots having at least one token there (ascending). */
  #invertedLists(): { offsets: Int32Array; docs: Int32Array } {
    if (this.#ivf) return this.#ivf;
    const k = this.centroidCount;
    const offsets = this.#docOffsets.view();
    const codes = this.#codes.view();
    const counts = new Int32Array(k + 1);
    const lastSeen = new Int32Array(k).fill(-1);
    const slots = this.#ids.length;
    for (let s = 0; s < slots; s++) {
      if (!this.#alive.get(s)) continue;
      for (let t = offsets[s]!; t < offsets[s + 1]!; t++) {
        const c = codes[t]!;
        if (lastSeen[c] !== s) {
          lastSeen[c] = s;
          counts[c + 1]!++;
        }
      }
    }
    for (let c = 0; c < k; c++) counts[c + 1]! += counts[c]!;
    const docs = new Int32Array(counts[k]!);
    const fill = counts.slice(0, k);
    lastSeen.fill(-1);
    for (let s = 0; s < slots; s++) {
      if (!this.#alive.get(s)) continue;
      for (let t = offsets[s]!; t < offsets[s + 1]!; t++) {
        const c = codes[t]!;
        if (lastSeen[c] !== s) {
          lastSeen[c] = s;
          docs[fill[c]!++] = s;
        }
      }
    }
    this.#ivf = { offsets: counts, docs };
    return this.#ivf;
  }

  /** The decompressed (L2-normalised) token vectors of the given slots, as one ragged matrix. */
  decompress(slots: ArrayLike<number>): RaggedMatrix {
    const dim = this.dim;
    const bpt = this.codec.bytesPerToken;
    const offsets = this.#docOffsets.view();
    const codes = this.#codes.view();
    const residuals = this.#residuals.view();
    const out = new Int32Array(slots.length + 1);
    for (let i = 0; i < slots.length; i++) out[i + 1] = out[i]! + offsets[slots[i]! + 1]! - offsets[slots[i]!]!;
    const data = new Float32Array(out[slots.length]! * dim);
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      let row = out[i]!;
      for (let t = offsets[s]!; t < offsets[s + 1]!; t++, row++) this.codec.decode(residuals, t * bpt, this.centroids, codes[t]!, data, row * dim);
    }
    return { dim, offsets: out, data };
  }

  /**
   * PLAID search for one query (`nq x dim` L2-normalised token vectors, row-major):
   * candidate generation, pruned then full centroid interaction, exact MaxSim on the rest.
   */
  async search(query: Float32Array, gemm: Gemm, kernel: MaxSimKernel, options: PlaidSearchOptions = {}): Promise<PlaidHit[]> {
    const dim = this.dim;
    if (query.length % dim !== 0) throw new DimensionMismatchError(dim, query.length, 'query token vectors (length not a multiple of the index dim)');
    const k = options.k ?? 10;
    const defaults = plaidDefaults(k);
    const nprobe = Math.min(options.nprobe ?? defaults.nprobe, this.centroidCount);
    const threshold = options.centroidScoreThreshold ?? defaults.centroidScoreThreshold;
    const ndocs = Math.max(k, options.ndocs ?? defaults.ndocs);
    const nq = query.length / dim;
    if (nq === 0 || this.#live === 0) return [];
    throwIfAborted(options.signal, 'ColBERT search');
    const kc = this.centroidCount;
    // [kc x nq]: row c holds centroid c's similarity to every query token (contiguous per centroid).
    const t0 = performance.now();
    const cq = await gemm.product(this.centroids, query, dim);
    const t1 = performance.now();
    const candidates = this.#candidates(cq, kc, nq, nprobe, options.filter);
    if (candidates.length === 0) return [];
    // Pruned interaction: only centroids that score >= threshold against some query token count.
    const keep = new Uint8Array(kc);
    for (let c = 0; c < kc; c++) {
      let best = -Infinity;
      for (let i = 0; i < nq; i++) best = Math.max(best, cq[c * nq + i]!);
      keep[c] = best >= threshold ? 1 : 0;
    }
    const t2 = performance.now();
    const stage2 = this.#centroidInteraction(candidates, cq, nq, keep, ndocs);
    throwIfAborted(options.signal, 'ColBERT search');
    const t3 = performance.now();
    const stage3 = this.#centroidInteraction(stage2, cq, nq, undefined, Math.max(k, Math.floor(ndocs / 4)));
    const t4 = performance.now();
    const tokens = this.decompress(stage3);
    const t5 = performance.now();
    const queryM: RaggedMatrix = { dim, offsets: Int32Array.of(0, nq), data: query };
    const scores = await kernel.score(queryM, 0, tokens, undefined, options.signal);
    const t6 = performance.now();
    this.lastSearch = {
      candidates: candidates.length,
      kept: keep.reduce((a, b) => a + b, 0),
      ms: { centroidScores: t1 - t0, candidates: t2 - t1, pruned: t3 - t2, full: t4 - t3, decompress: t5 - t4, exact: t6 - t5 },
    };
    const top = new TopK(k);
    stage3.forEach((slot, i) => top.push(slot, scores[i]!));
    const { indices, scores: best } = top.drain();
    return Array.from(indices, (slot, i) => ({ slot, score: best[i]! }));
  }

  /** Live slots (passing `filter`) in the inverted lists of each query token's `nprobe` best centroids. */
  #candidates(cq: Float32Array, kc: number, nq: number, nprobe: number, filter?: (slot: number) => boolean): Int32Array {
    const ivf = this.#invertedLists();
    const mark = new Uint8Array(this.#ids.length);
    const out: number[] = [];
    for (let i = 0; i < nq; i++) {
      const top = new TopK(nprobe);
      for (let c = 0; c < kc; c++) top.push(c, cq[c * nq + i]!);
      for (const c of top.drain().indices) {
        for (let p = ivf.offsets[c]!; p < ivf.offsets[c + 1]!; p++) {
          const s = ivf.docs[p]!;
          if (mark[s]) continue;
          mark[s] = 1;
          if (!filter || filter(s)) out.push(s);
        }
      }
    }
    return Int32Array.from(out);
  }

  /** Approximate MaxSim with each token replaced by its centroid (only `keep` centroids if given); the best `limit` slots. */
  #centroidInteraction(slots: Int32Array, cq: Float32Array, nq: number, keep: Uint8Array | undefined, limit: number): Int32Array {
    if (slots.length <= limit && keep === undefined) return slots;
    const offsets = this.#docOffsets.view();
    const codes = this.#codes.view();
    const best = new Float32Array(nq);
    const top = new TopK(limit);
    // A centroid repeated within a document scores the same each time: visit it once (stamp = slot + 1).
    const stamp = this.#stamp();
    for (const s of slots) {
      best.fill(0);
      const mark = s + 1;
      for (let t = offsets[s]!; t < offsets[s + 1]!; t++) {
        const c = codes[t]!;
        if (stamp[c] === mark || (keep && keep[c] === 0)) continue;
        stamp[c] = mark;
        const row = c * nq;
        for (let i = 0; i < nq; i++) {
          const v = cq[row + i]!;
          if (v > best[i]!) best[i] = v;
        }
      }
      let score = 0;
      for (let i = 0; i < nq; i++) score += best[i]!;
      top.push(s, score);
    }
    stamp.fill(0);
    return top.drain().indices;
  }

  #stampBuffer = new Int32Array(0);

  #stamp(): Int32Array {
    if (this.#stampBuffer.length !== this.centroidCount) this.#stampBuffer = new Int32Array(this.centroidCount);
    return this.#stampBuffer;
  }

  /** Saves the index (compacted) atomically, with checksums; `extra` joins the manifest's meta. */
  async save(dir: string, extra: Record<string, unknown> = {}): Promise<void> {
    this.compact();
    const meta = { ...this.meta, ...extra, centroids: this.centroidCount, documents: this.#ids.length, tokens: this.tokenCount, bytesPerToken: this.bytesPerToken };
    await saveIndexDir(dir, { format: PLAID_FORMAT, version: PLAID_VERSION, meta }, async (tmp) => {
      await writeFile(join(tmp, 'centroids.f32'), bytesOf(this.centroids));
      await writeFile(join(tmp, 'codec.f32'), bytesOf(Float32Array.from([...this.codec.cutoffs, ...this.codec.weights])));
      await writeFile(join(tmp, 'doc-offsets.i32'), bytesOf(this.#docOffsets.view()));
      await writeFile(join(tmp, 'codes.i32'), bytesOf(this.#codes.view()));
      await writeFile(join(tmp, 'residuals.u8'), bytesOf(this.#residuals.view()));
      await writeFile(join(tmp, 'doc-ids.json'), JSON.stringify(this.#ids));
    });
  }

  /** Loads a saved index; each binary file is read once into a typed array of its size (no copies). */
  static async load(dir: string): Promise<PlaidIndex> {
    const manifest = await openIndexDir(dir, PLAID_FORMAT, [PLAID_VERSION], { required: ['centroids.f32', 'codec.f32', 'doc-ids.json', 'doc-offsets.i32', 'codes.i32', 'residuals.u8'] });
    const meta = manifest.meta as PlaidIndexMeta;
    checkNbits(meta.nbits);
    const centroids = readTypedFile(join(dir, 'centroids.f32'), Float32Array);
    const codecValues = readTypedFile(join(dir, 'codec.f32'), Float32Array);
    const buckets = 1 << meta.nbits;
    if (codecValues.length !== 2 * buckets - 1 || centroids.length % meta.dim !== 0) throw new IndexCorruptError('centroid or codec file does not match the manifest', dir);
    const codec = new ResidualCodec(meta.dim, meta.nbits, codecValues.slice(0, buckets - 1), codecValues.slice(buckets - 1));
    const ids = JSON.parse(readFileSync(join(dir, 'doc-ids.json'), 'utf8')) as string[];
    const docOffsets = readTypedFile(join(dir, 'doc-offsets.i32'), Int32Array);
    const codes = readTypedFile(join(dir, 'codes.i32'), Int32Array);
    const residuals = readTypedFile(join(dir, 'residuals.u8'), Uint8Array);
    const tokens = codes.length;
    if (docOffsets.length !== ids.length + 1 || docOffsets[ids.length] !== tokens || residuals.length !== tokens * codec.bytesPerToken) {
      throw new IndexCorruptError('document offsets, codes and residuals disagree in size', dir);
    }
    const kc = centroids.length / meta.dim;
    for (let t = 0; t < tokens; t++) if (codes[t]! < 0 || codes[t]! >= kc) throw new IndexCorruptError(`token ${t} refers to centroid ${codes[t]} of ${kc}`, dir);
    return new PlaidIndex(meta, centroids, codec, { ids, alive: new Uint8Array(ids.length).fill(1), docOffsets, codes, residuals });
  }
}
