import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, checkOptions } from '@quarry/core';
import { chunkMemoryOptionsSchema } from './options.js';

export interface ChunkMemoryOptions {
  /** Floats stored per chunk (tokens per chunk x hidden width). */
  chunkFloats: number;
  /** Floats of one landmark query/key row (groups x relDim). */
  landmarkFloats: number;
  /**
   * Folder for paging chunk states to disk: only landmarks stay in memory, so resident memory
   * stays bounded (about 2 x landmarkFloats x 4 bytes per chunk) however long the input is.
   * A fresh file is created inside it and removed by `close()`.
   */
  pageDir?: string;
}

/**
 * The chunk memory of GCA: for every finished chunk its landmark query and key (kept in memory,
 * searched by every retrieval) and its token states (the source of the chunk's keys and values,
 * in memory or paged to a file). Appending is O(1) amortised, so a stream of L tokens costs
 * O(L) time and memory (O(L / chunk) resident when paged).
 */
export class ChunkMemory {
  readonly chunkFloats: number;
  readonly landmarkFloats: number;
  #lq: Float32Array;
  #lk: Float32Array;
  #states: Float32Array;
  #count = 0;
  #fd: number | undefined;
  #dir: string | undefined;
  #file: string | undefined;

  constructor(options: ChunkMemoryOptions) {
    checkOptions(chunkMemoryOptionsSchema, options, 'ChunkMemory options');
    const { chunkFloats, landmarkFloats } = options;
    if (!Number.isInteger(chunkFloats) || chunkFloats < 1 || !Number.isInteger(landmarkFloats) || landmarkFloats < 1) {
      throw new InputError('ChunkMemory: chunkFloats and landmarkFloats must be positive integers.');
    }
    this.chunkFloats = chunkFloats;
    this.landmarkFloats = landmarkFloats;
    this.#lq = new Float32Array(16 * landmarkFloats);
    this.#lk = new Float32Array(16 * landmarkFloats);
    this.#states = new Float32Array(options.pageDir ? 0 : 16 * chunkFloats);
    if (options.pageDir) {
      this.#dir = mkdtempSync(join(options.pageDir, 'drt-chunks-'));
      this.#file = join(this.#dir, 'states.f32');
      this.#fd = openSync(this.#file, 'w+');
    }
  }

  /** Chunks stored. */
  get size(): number {
    return this.#count;
  }

  get paged(): boolean {
    return this.#fd !== undefined;
  }

  /** Landmark queries, row c = chunk c (a view of the first `size` rows). */
  get lq(): Float32Array {
    return this.#lq.subarray(0, this.#count * this.landmarkFloats);
  }

  /** Landmark keys, row c = chunk c. */
  get lk(): Float32Array {
    return this.#lk.subarray(0, this.#count * this.landmarkFloats);
  }

  /** Bytes held in memory by this store (landmarks, plus states unless paged). */
  get residentBytes(): number {
    return (this.#lq.length + this.#lk.length + this.#states.length) * 4;
  }

  /** Appends one finished chunk: its states and its landmark query/key rows. */
  append(states: Float32Array, lq: Float32Array, lk: Float32Array): number {
    if (states.length !== this.chunkFloats) throw new InputError(`ChunkMemory.append: expected ${this.chunkFloats} state values, got ${states.length}.`);
    if (lq.length !== this.landmarkFloats || lk.length !== this.landmarkFloats) throw new InputError(`ChunkMemory.append: landmark rows must have ${this.landmarkFloats} values.`);
    const c = this.#count;
    const need = (c + 1) * this.landmarkFloats;
    if (need > this.#lq.length) {
      this.#lq = grow(this.#lq, need);
      this.#lk = grow(this.#lk, need);
    }
    this.#lq.set(lq, c * this.landmarkFloats);
    this.#lk.set(lk, c * this.landmarkFloats);
    if (this.#fd !== undefined) {
      const bytes = new Uint8Array(states.buffer, states.byteOffset, states.byteLength);
      let done = 0;
      while (done < bytes.length) done += writeSync(this.#fd, bytes, done, bytes.length - done, c * bytes.length + done);
    } else {
      const needStates = (c + 1) * this.chunkFloats;
      if (needStates > this.#states.length) this.#states = grow(this.#states, needStates);
      this.#states.set(states, c * this.chunkFloats);
    }
    this.#count = c + 1;
    return c;
  }

  /** The token states of chunk `c` (a fresh copy when paged, a view otherwise). */
  states(c: number): Float32Array {
    if (!Number.isInteger(c) || c < 0 || c >= this.#count) throw new InputError(`ChunkMemory: no chunk ${c} (size ${this.#count}).`);
    if (this.#fd === undefined) return this.#states.subarray(c * this.chunkFloats, (c + 1) * this.chunkFloats);
    const out = new Float32Array(this.chunkFloats);
    const bytes = new Uint8Array(out.buffer);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.#fd, bytes, done, bytes.length - done, c * bytes.length + done);
      if (n === 0) throw new InputError(`ChunkMemory: page file ended inside chunk ${c}.`);
      done += n;
    }
    return out;
  }

  /** Releases the page file (if any). The memory is unusable afterwards. */
  close(): void {
    if (this.#fd !== undefined) {
      closeSync(this.#fd);
      this.#fd = undefined;
      rmSync(this.#dir!, { recursive: true, force: true });
    }
    this.#states = new Float32Array(0);
    this.#count = 0;
  }
}

function grow(a: Float32Array, need: number): Float32Array {
  const b = new Float32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}
