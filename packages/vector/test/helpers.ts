import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@quarry/core';
import type { Hit, Matrix } from '@quarry/core';
import { afterEach } from 'vitest';

/** A seeded uniform generator (core's SeededRandom, mulberry32), so every test sees the same data. */
export function rng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

export function gaussian(random: () => number): () => number {
  return () => {
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

export function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const g = gaussian(rng(seed));
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = g();
  return { rows, cols, data };
}

/**
 * Vectors shaped like real embeddings: a rank-`rank` latent mixed into `cols`
 * dimensions plus small isotropic noise. `basisSeed` fixes the mixing so that
 * documents and queries drawn with different seeds share one subspace.
 */
export function lowRank(rows: number, cols: number, rank: number, seed: number, noise = 0.1, basisSeed = 7): Matrix {
  const basis = randomMatrix(rank, cols, basisSeed).data;
  const scale = 1 / Math.sqrt(rank);
  const g = gaussian(rng(seed));
  const data = new Float32Array(rows * cols);
  const z = new Float64Array(rank);
  for (let i = 0; i < rows; i++) {
    for (let r = 0; r < rank; r++) z[r] = g();
    for (let j = 0; j < cols; j++) {
      let x = 0;
      for (let r = 0; r < rank; r++) x += z[r]! * basis[r * cols + j]!;
      data[i * cols + j] = x * scale + noise * g();
    }
  }
  return { rows, cols, data };
}

export function row(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

export function idsFor(n: number, prefix = 'd'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

/** The obvious O(n·dim) computation, in doubles, straight from the definitions. */
export function naiveSearch(ids: readonly string[], vectors: Matrix, query: Float32Array, k: number, metric: 'ip' | 'cosine', keep: (id: string) => boolean = () => true): Hit[] {
  const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
  const qn = norm(query);
  const scored: Hit[] = [];
  ids.forEach((id, i) => {
    if (!keep(id)) return;
    const v = row(vectors, i);
    let dot = 0;
    for (let j = 0; j < v.length; j++) dot += v[j]! * query[j]!;
    scored.push({ id, score: metric === 'cosine' ? dot / (norm(v) * qn) : dot });
  });
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, k);
}

/** Fraction of `truth`'s ids found in `found` (recall@k per query, averaged). */
export function recall(found: readonly Hit[][], truth: readonly Hit[][]): number {
  let hit = 0;
  let total = 0;
  truth.forEach((t, q) => {
    const got = new Set(found[q]!.map((h) => h.id));
    for (const h of t) if (got.has(h.id)) hit++;
    total += t.length;
  });
  return hit / total;
}

/** A fresh temp folder, removed after the test. */
const made: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-vector-'));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Rewrites one file of a saved index and re-stamps its checksum, as a buggy writer would. */
export function tamper(dir: string, name: string, edit: (bytes: Buffer) => Buffer): void {
  const file = join(dir, name);
  const bytes = edit(readFileSync(file));
  writeFileSync(file, bytes);
  const manifestFile = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  manifest.files[name] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  writeFileSync(manifestFile, JSON.stringify(manifest));
}

export function editManifest(dir: string, edit: (manifest: { meta: Record<string, unknown> }) => void): void {
  const manifestFile = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  edit(manifest);
  writeFileSync(manifestFile, JSON.stringify(manifest));
}
