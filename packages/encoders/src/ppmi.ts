import { SeededRandom } from '@quarry/core';

export interface PpmiSvdOptions {
  /** Co-occurrence window on each side (default 5). */
  window?: number;
  /** Context-distribution smoothing exponent (default 0.75, as in word2vec). */
  alpha?: number;
  /** Extra random columns for the randomized SVD (default 16). */
  oversample?: number;
  /** Power iterations of the randomized SVD (default 2). */
  powerIterations?: number;
  /** Token pairs seen fewer times are dropped (default 2). */
  minPairCount?: number;
  /** Use at most this many tokens of `sequences` (default 2,000,000), in order. */
  maxTokens?: number;
  seed?: number;
}

/**
 * Initial token vectors from the corpus itself: a positive pointwise mutual information
 * (PPMI) matrix of token co-occurrences within a window, factorised by a randomized
 * truncated SVD (Halko et al.); vectors are U_k * sqrt(S_k), scaled to unit mean norm.
 * Components come out ordered by singular value, which suits Matryoshka prefixes.
 *
 * `sequences` hold row indices (already mapped; negative entries are skipped).
 * Deterministic for a given seed.
 */
export function ppmiSvd(sequences: readonly Int32Array[], rows: number, dim: number, options: PpmiSvdOptions = {}): Float32Array {
  const window = options.window ?? 5;
  const alpha = options.alpha ?? 0.75;
  const k = Math.min(rows, dim + (options.oversample ?? 8));
  const iters = options.powerIterations ?? 2;
  const rng = new SeededRandom(options.seed ?? 0);
  const maxTokens = options.maxTokens ?? 2_000_000;
  const used: Int32Array[] = [];
  let total = 0;
  for (const s of sequences) {
    if (total >= maxTokens) break;
    used.push(s);
    total += s.length;
  }
  const csr = cooccurrence(used, rows, window, options.minPairCount ?? 2);
  ppmiInPlace(csr, rows, alpha);
  // Randomized SVD of A (rows x rows, sparse); dense blocks are row-major rows x k.
  let Q = gaussian(rows, k, rng);
  orthonormalize(Q, rows, k);
  for (let it = 0; it < iters; it++) {
    const Z = multiplyT(csr, rows, Q, k);
    orthonormalize(Z, rows, k);
    Q = multiply(csr, rows, Z, k);
    orthonormalize(Q, rows, k);
  }
  // B = Q^T A (k x rows); B B^T = C^T C with C = A^T Q (rows x k).
  const C = multiplyT(csr, rows, Q, k);
  const G = gram(C, rows, k);
  const { values, vectors } = jacobiEigen(G, k);
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => values[b]! - values[a]!);
  // U = Q V; embedding = U * sqrt(sigma) = Q V * sigma^(1/2), sigma = sqrt(eigenvalue).
  const out = new Float32Array(rows * dim);
  for (let c = 0; c < dim; c++) {
    const e = order[c]!;
    const sigma = Math.sqrt(Math.max(values[e]!, 0));
    const scale = Math.sqrt(sigma);
    const col = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += Q[i * k + a]! * vectors[a * k + e]!;
      col[i] = s;
    }
    // Fix the sign so the output does not depend on the eigen solver's choice.
    let big = 0;
    for (let i = 0; i < rows; i++) if (Math.abs(col[i]!) > Math.abs(big)) big = col[i]!;
    const sign = big < 0 ? -1 : 1;
    for (let i = 0; i < rows; i++) out[i * dim + c] = sign * col[i]! * scale;
  }
  // Unit mean row norm; rows that never co-occurred get small noise so they can still learn.
  let normSum = 0;
  let count = 0;
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += out[i * dim + c]! ** 2;
    norms[i] = Math.sqrt(s);
    if (norms[i]! > 0) {
      normSum += norms[i]!;
      count++;
    }
  }
  const inv = count > 0 && normSum > 0 ? count / normSum : 1;
  const noise = 0.01 / Math.sqrt(dim);
  for (let i = 0; i < rows * dim; i++) out[i] = out[i]! * inv + rng.normal() * noise;
  return out;
}

interface Csr {
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

function cooccurrence(sequences: readonly Int32Array[], rows: number, window: number, minCount: number): Csr {
  let pairs = 0;
  for (const s of sequences) {
    const n = s.length;
    for (let t = 0; t < n; t++) pairs += 2 * Math.min(window, n - t - 1);
  }
  const keys = new Float64Array(pairs);
  let p = 0;
  for (const s of sequences) {
    const n = s.length;
    for (let t = 0; t < n; t++) {
      const a = s[t]!;
      if (a < 0) continue;
      const end = Math.min(n, t + window + 1);
      for (let u = t + 1; u < end; u++) {
        const b = s[u]!;
        if (b < 0) continue;
        keys[p++] = a * rows + b;
        keys[p++] = b * rows + a;
      }
    }
  }
  const sorted = keys.subarray(0, p).sort();
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    const key = sorted[i]!;
    let j = i + 1;
    while (j < sorted.length && sorted[j] === key) j++;
    if (j - i >= minCount) {
      const a = Math.floor(key / rows);
      indices.push(key - a * rows);
      values.push(j - i);
      indptr[a + 1]!++;
    }
    i = j;
  }
  for (let a = 0; a < rows; a++) indptr[a + 1]! += indptr[a]!;
  return { indptr, indices: Int32Array.from(indices), values: Float64Array.from(values) };
}

function ppmiInPlace(m: Csr, rows: number, alpha: number): void {
  const rowSum = new Float64Array(rows);
  let total = 0;
  for (let a = 0; a < rows; a++) {
    for (let e = m.indptr[a]!; e < m.indptr[a + 1]!; e++) rowSum[a]! += m.values[e]!;
    total += rowSum[a]!;
  }
  // Symmetric counts: column sums equal row sums.
  let smoothTotal = 0;
  const colSmooth = new Float64Array(rows);
  for (let b = 0; b < rows; b++) {
    colSmooth[b] = rowSum[b]! ** alpha;
    smoothTotal += colSmooth[b]!;
  }
  for (let a = 0; a < rows; a++) {
    for (let e = m.indptr[a]!; e < m.indptr[a + 1]!; e++) {
      const b = m.indices[e]!;
      const pmi = Math.log(m.values[e]! / total / ((rowSum[a]! / total) * (colSmooth[b]! / smoothTotal)));
      m.values[e] = Math.max(pmi, 0);
    }
  }
}

/** Row-major dense block, rows x k. */
type Block = Float64Array;

function gaussian(rows: number, k: number, rng: SeededRandom): Block {
  const out = new Float64Array(rows * k);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}

/** A X for sparse A (rows x rows). */
function multiply(m: Csr, rows: number, X: Block, k: number): Block {
  const out = new Float64Array(rows * k);
  for (let a = 0; a < rows; a++) {
    const o = a * k;
    for (let e = m.indptr[a]!; e < m.indptr[a + 1]!; e++) {
      const v = m.values[e]!;
      if (v === 0) continue;
      const x = m.indices[e]! * k;
      for (let c = 0; c < k; c++) out[o + c]! += v * X[x + c]!;
    }
  }
  return out;
}

/** A^T X for sparse A. */
function multiplyT(m: Csr, rows: number, X: Block, k: number): Block {
  const out = new Float64Array(rows * k);
  for (let a = 0; a < rows; a++) {
    const x = a * k;
    for (let e = m.indptr[a]!; e < m.indptr[a + 1]!; e++) {
      const v = m.values[e]!;
      if (v === 0) continue;
      const o = m.indices[e]! * k;
      for (let c = 0; c < k; c++) out[o + c]! += v * X[x + c]!;
    }
  }
  return out;
}

/** X^T X (k x k) for a row-major rows x k block. */
function gram(X: Block, rows: number, k: number): Float64Array {
  const G = new Float64Array(k * k);
  for (let i = 0; i < rows; i++) {
    const o = i * k;
    for (let a = 0; a < k; a++) {
      const xa = X[o + a]!;
      if (xa === 0) continue;
      const g = a * k;
      for (let b = a; b < k; b++) G[g + b]! += xa * X[o + b]!;
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) G[a * k + b] = G[b * k + a]!;
  return G;
}

/**
 * Orthonormalises the columns in place by Cholesky QR, twice (CholQR2): G = X^T X = L L^T,
 * X <- X L^-T. Rank-deficient directions (tiny pivots) are zeroed.
 */
function orthonormalize(X: Block, rows: number, k: number): void {
  for (let pass = 0; pass < 2; pass++) {
    const G = gram(X, rows, k);
    const L = new Float64Array(k * k);
    let maxDiag = 0;
    for (let a = 0; a < k; a++) maxDiag = Math.max(maxDiag, G[a * k + a]!);
    const tiny = maxDiag * 1e-12;
    for (let j = 0; j < k; j++) {
      let d = G[j * k + j]!;
      for (let p = 0; p < j; p++) d -= L[j * k + p]! ** 2;
      const ljj = d > tiny ? Math.sqrt(d) : 0;
      L[j * k + j] = ljj;
      for (let i = j + 1; i < k; i++) {
        let s = G[i * k + j]!;
        for (let p = 0; p < j; p++) s -= L[i * k + p]! * L[j * k + p]!;
        L[i * k + j] = ljj > 0 ? s / ljj : 0;
      }
    }
    // Each row x (1 x k) <- x L^-T, i.e. solve L y^T = x^T (forward substitution).
    const y = new Float64Array(k);
    for (let r = 0; r < rows; r++) {
      const o = r * k;
      for (let j = 0; j < k; j++) {
        const ljj = L[j * k + j]!;
        if (ljj === 0) {
          y[j] = 0;
          continue;
        }
        let s = X[o + j]!;
        for (let p = 0; p < j; p++) s -= L[j * k + p]! * y[p]!;
        y[j] = s / ljj;
      }
      X.set(y, o);
    }
  }
}

/** Cyclic Jacobi eigen-decomposition of a symmetric k x k matrix (row-major); vectors are columns. */
export function jacobiEigen(A: Float64Array, k: number, sweeps = 30): { values: Float64Array; vectors: Float64Array } {
  const a = A.slice();
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += a[p * k + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * k + p]!;
        const aqq = a[q * k + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = a[r * k + p]!;
          const arq = a[r * k + q]!;
          a[r * k + p] = c * arp - s * arq;
          a[r * k + q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p * k + r]!;
          const aqr = a[q * k + r]!;
          a[p * k + r] = c * apr - s * aqr;
          a[q * k + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p]!;
          const vrq = v[r * k + q]!;
          v[r * k + p] = c * vrp - s * vrq;
          v[r * k + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const values = new Float64Array(k);
  for (let i = 0; i < k; i++) values[i] = a[i * k + i]!;
  return { values, vectors: v };
}
