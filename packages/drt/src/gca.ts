import { InputError, type SeededRandom } from '@quarry/core';

/**
 * Grouped cross-attention (GCA), Hu et al. 2024 (arXiv 2410.01651), forward and backward on
 * Float32Array. Chunk c's tokens use the retrieval made with the landmark of chunk c - 1:
 * relevance(c - 1, j) = <lq[c - 1, g], lk[j, g]> / sqrt(relDim) over chunks j < c - 1 (strictly
 * earlier than the querying landmark), top-k per group g (Gumbel noise only when `gumbel` is
 * given, i.e. in training), weights = softmax over the k selected raw scores. Every token
 * attends to each retrieved chunk separately (its own softmax per chunk and head) and the k
 * outputs are summed with those weights, so the LM loss reaches the relevance scores.
 */
export interface GcaConfig {
  /** Attention heads; `heads` must be a multiple of `groups`. */
  heads: number;
  headDim: number;
  /** Retrieval groups G: heads h with floor(h / (heads / G)) = g share group g's top-k. */
  groups: number;
  /** Width of one group's landmark query/key. */
  relDim: number;
  /** Chunks retrieved per group (paper: 8). */
  topK: number;
}

/** Keys and values of one chunk, `length` tokens, row-major [length, heads * headDim]. */
export interface ChunkKV {
  k: Float32Array;
  v: Float32Array;
  length: number;
}

export interface GcaInput {
  /** Token queries [T, heads * headDim]. */
  q: Float32Array;
  /** Chunk of each query token. */
  qChunk: Int32Array;
  /** Landmark queries and keys [chunks, groups * relDim]; row c belongs to chunk c. */
  lq: Float32Array;
  lk: Float32Array;
  /** Chunks whose landmark exists (rows of lq/lk). */
  landmarks: number;
  /** Keys/values of a retrievable chunk (called once per chunk and pass). */
  kv(chunk: number): ChunkKV;
  /** Optional per-head logit of a null slot (zero value) added to every chunk attention. */
  sink?: Float32Array;
}

export interface GcaForwardOptions {
  /** Training only: Gumbel(0, 1) noise times `gumbelScale` perturbs the top-k choice (not the weights). */
  gumbel?: SeededRandom;
  gumbelScale?: number;
}

/** One group's retrieval for one querying chunk. */
export interface GcaRetrieval {
  chunk: number;
  group: number;
  /** Retrieved chunks, best (noisy) score first. */
  chunks: Int32Array;
  /** Raw relevance scores of the retrieved chunks. */
  scores: Float64Array;
  /** softmax(scores). */
  weights: Float64Array;
}

export interface GcaCache {
  input: GcaInput;
  config: GcaConfig;
  retrievals: Map<number, GcaRetrieval[]>;
  /** Per token, head and retrieved slot: attention probabilities (sink last when present) and the slot output. */
  probs: Float32Array[][][];
  slotOut: Float32Array[][][];
  kvCache: Map<number, ChunkKV>;
}

export interface GcaGrads {
  dq: Float32Array;
  dlq: Float32Array;
  dlk: Float32Array;
  /** dK/dV of every chunk that was retrieved. */
  dkv: Map<number, { dk: Float32Array; dv: Float32Array }>;
  dsink: Float32Array;
}

export function validateGcaConfig(c: GcaConfig): void {
  for (const [name, value] of Object.entries(c)) {
    if (!Number.isInteger(value) || value < 1) throw new InputError(`GCA config: ${name} must be a positive integer, got ${String(value)}.`, { [name]: value });
  }
  if (c.heads % c.groups !== 0) throw new InputError(`GCA config: heads (${c.heads}) must be a multiple of groups (${c.groups}).`, { heads: c.heads, groups: c.groups });
}

/**
 * The k best candidates by `score(j) + noise(j)` among j in [0, n), best first (ties: lower j).
 * Linear in n for fixed k.
 */
export function topK(n: number, k: number, score: (j: number) => number): Int32Array {
  const m = Math.min(n, k);
  const idx = new Int32Array(m);
  const val = new Float64Array(m);
  let size = 0;
  for (let j = 0; j < n; j++) {
    const s = score(j);
    if (size === m && !(s > val[m - 1]!)) continue;
    let pos = size < m ? size++ : m - 1;
    while (pos > 0 && s > val[pos - 1]!) {
      val[pos] = val[pos - 1]!;
      idx[pos] = idx[pos - 1]!;
      pos--;
    }
    val[pos] = s;
    idx[pos] = j;
  }
  return idx;
}

function gumbelNoise(rng: SeededRandom): number {
  let u = rng.next();
  while (u <= 0) u = rng.next();
  return -Math.log(-Math.log(u));
}

/** Retrieval (top-k and weights) of `chunk`'s tokens for group `group`. */
export function retrieve(input: GcaInput, config: GcaConfig, chunk: number, group: number, options: GcaForwardOptions = {}): GcaRetrieval {
  const { relDim, groups, topK: k } = config;
  const query = chunk - 1;
  const candidates = Math.max(0, Math.min(query, input.landmarks));
  if (candidates > 0 && query >= input.landmarks) {
    throw new InputError(`GCA: chunk ${chunk} needs the landmark of chunk ${query}, but only ${input.landmarks} landmarks exist.`);
  }
  const stride = groups * relDim;
  const scale = 1 / Math.sqrt(relDim);
  const qOff = query * stride + group * relDim;
  const raw = (j: number): number => {
    const kOff = j * stride + group * relDim;
    let s = 0;
    for (let i = 0; i < relDim; i++) s += input.lq[qOff + i]! * input.lk[kOff + i]!;
    return s * scale;
  };
  let chunks: Int32Array;
  if (options.gumbel && candidates > k) {
    const rng = options.gumbel;
    const tau = options.gumbelScale ?? 1;
    chunks = topK(candidates, k, (j) => raw(j) + tau * gumbelNoise(rng));
  } else {
    chunks = topK(candidates, k, raw);
  }
  const scores = new Float64Array(chunks.length);
  let max = -Infinity;
  for (let m = 0; m < chunks.length; m++) {
    scores[m] = raw(chunks[m]!);
    if (scores[m]! > max) max = scores[m]!;
  }
  const weights = new Float64Array(chunks.length);
  let sum = 0;
  for (let m = 0; m < chunks.length; m++) sum += weights[m] = Math.exp(scores[m]! - max);
  for (let m = 0; m < chunks.length; m++) weights[m]! /= sum;
  return { chunk, group, chunks, scores, weights };
}

/**
 * Attention of one query head over `len` keys (plus an optional null slot of logit `sink`).
 * Writes the probabilities to `probs` (length len, or len + 1 with the sink last) and adds
 * `scale * sum p v` to `out` at `outOff`.
 */
export function attendHead(
  q: Float32Array,
  qOff: number,
  k: Float32Array,
  v: Float32Array,
  len: number,
  stride: number,
  hOff: number,
  headDim: number,
  sink: number | undefined,
  probs: Float32Array,
  out: Float32Array,
  outOff: number,
  weight = 1,
): void {
  const scale = 1 / Math.sqrt(headDim);
  let max = sink ?? -Infinity;
  for (let s = 0; s < len; s++) {
    const base = s * stride + hOff;
    let dot = 0;
    for (let i = 0; i < headDim; i++) dot += q[qOff + i]! * k[base + i]!;
    dot *= scale;
    probs[s] = dot;
    if (dot > max) max = dot;
  }
  let sum = 0;
  for (let s = 0; s < len; s++) sum += probs[s] = Math.exp(probs[s]! - max);
  if (sink !== undefined) sum += probs[len] = Math.exp(sink - max);
  const inv = 1 / sum;
  const n = sink !== undefined ? len + 1 : len;
  for (let s = 0; s < n; s++) probs[s]! *= inv;
  for (let s = 0; s < len; s++) {
    const p = probs[s]! * weight;
    const base = s * stride + hOff;
    for (let i = 0; i < headDim; i++) out[outOff + i]! += p * v[base + i]!;
  }
}

/**
 * Backward of `attendHead` (weight 1) given dOut for this head: accumulates dq, dk, dv and
 * returns the gradient of the sink logit.
 */
export function attendHeadBackward(
  q: Float32Array,
  qOff: number,
  k: Float32Array,
  v: Float32Array,
  len: number,
  stride: number,
  hOff: number,
  headDim: number,
  hasSink: boolean,
  probs: Float32Array,
  dOut: Float32Array,
  dOutOff: number,
  doScale: number,
  dq: Float32Array,
  dqOff: number,
  dk: Float32Array,
  dv: Float32Array,
): number {
  const scale = 1 / Math.sqrt(headDim);
  let dot = 0;
  const dp = new Float64Array(len);
  for (let s = 0; s < len; s++) {
    const base = s * stride + hOff;
    let g = 0;
    for (let i = 0; i < headDim; i++) g += dOut[dOutOff + i]! * v[base + i]!;
    g *= doScale;
    dp[s] = g;
    dot += probs[s]! * g;
  }
  for (let s = 0; s < len; s++) {
    const p = probs[s]!;
    const base = s * stride + hOff;
    const dl = p * (dp[s]! - dot) * scale;
    const pd = p * doScale;
    for (let i = 0; i < headDim; i++) {
      dq[dqOff + i]! += dl * k[base + i]!;
      dk[base + i]! += dl * q[qOff + i]!;
      dv[base + i]! += pd * dOut[dOutOff + i]!;
    }
  }
  return hasSink ? probs[len]! * (0 - dot) : 0;
}

/** GCA forward: out [T, heads * headDim] and the cache `gcaBackward` needs. */
export function gcaForward(input: GcaInput, config: GcaConfig, options: GcaForwardOptions = {}): { out: Float32Array; cache: GcaCache } {
  validateGcaConfig(config);
  const { heads, headDim, groups } = config;
  const width = heads * headDim;
  const T = input.qChunk.length;
  if (input.q.length !== T * width) throw new InputError(`GCA: q has ${input.q.length} values, expected ${T} x ${width}.`);
  const rel = groups * config.relDim;
  if (input.lq.length < input.landmarks * rel || input.lk.length < input.landmarks * rel) {
    throw new InputError(`GCA: lq/lk must hold ${input.landmarks} x ${rel} values.`);
  }
  if (input.sink && input.sink.length !== heads) throw new InputError(`GCA: sink must have one logit per head (${heads}).`);
  const perGroup = heads / groups;
  const out = new Float32Array(T * width);
  const retrievals = new Map<number, GcaRetrieval[]>();
  const kvCache = new Map<number, ChunkKV>();
  const getKv = (j: number): ChunkKV => {
    let kv = kvCache.get(j);
    if (!kv) {
      kv = input.kv(j);
      if (kv.k.length < kv.length * width || kv.v.length < kv.length * width) throw new InputError(`GCA: chunk ${j} K/V shorter than ${kv.length} x ${width}.`);
      kvCache.set(j, kv);
    }
    return kv;
  };
  const probs: Float32Array[][][] = [];
  const slotOut: Float32Array[][][] = [];
  for (let t = 0; t < T; t++) {
    const c = input.qChunk[t]!;
    let rs = retrievals.get(c);
    if (!rs) {
      rs = [];
      for (let g = 0; g < groups; g++) rs.push(retrieve(input, config, c, g, options));
      retrievals.set(c, rs);
    }
    const tp: Float32Array[][] = [];
    const to: Float32Array[][] = [];
    for (let h = 0; h < heads; h++) {
      const r = rs[Math.floor(h / perGroup)]!;
      const hp: Float32Array[] = [];
      const ho: Float32Array[] = [];
      for (let m = 0; m < r.chunks.length; m++) {
        const kv = getKv(r.chunks[m]!);
        const sink = input.sink?.[h];
        const p = new Float32Array(kv.length + (sink !== undefined ? 1 : 0));
        const o = new Float32Array(headDim);
        attendHead(input.q, t * width + h * headDim, kv.k, kv.v, kv.length, width, h * headDim, headDim, sink, p, o, 0);
        const w = r.weights[m]!;
        for (let i = 0; i < headDim; i++) out[t * width + h * headDim + i]! += w * o[i]!;
        hp.push(p);
        ho.push(o);
      }
      tp.push(hp);
      to.push(ho);
    }
    probs.push(tp);
    slotOut.push(to);
  }
  return { out, cache: { input, config, retrievals, probs, slotOut, kvCache } };
}

/** GCA backward: gradients of the loss with respect to q, lq, lk, the retrieved K/V and the sink. */
export function gcaBackward(cache: GcaCache, dOut: Float32Array): GcaGrads {
  const { input, config, retrievals, probs, slotOut, kvCache } = cache;
  const { heads, headDim, groups, relDim } = config;
  const width = heads * headDim;
  const perGroup = heads / groups;
  const T = input.qChunk.length;
  const dq = new Float32Array(input.q.length);
  const dlq = new Float32Array(input.lq.length);
  const dlk = new Float32Array(input.lk.length);
  const dsink = new Float32Array(heads);
  const dkv = new Map<number, { dk: Float32Array; dv: Float32Array }>();
  const dW = new Map<number, Float64Array[]>();
  for (const [c, rs] of retrievals)
    dW.set(
      c,
      rs.map((r) => new Float64Array(r.chunks.length)),
    );
  for (let t = 0; t < T; t++) {
    const c = input.qChunk[t]!;
    const rs = retrievals.get(c)!;
    const dws = dW.get(c)!;
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / perGroup);
      const r = rs[g]!;
      const off = t * width + h * headDim;
      for (let m = 0; m < r.chunks.length; m++) {
        const j = r.chunks[m]!;
        const o = slotOut[t]![h]![m]!;
        let d = 0;
        for (let i = 0; i < headDim; i++) d += dOut[off + i]! * o[i]!;
        dws[g]![m]! += d;
        const kv = kvCache.get(j)!;
        let acc = dkv.get(j);
        if (!acc) dkv.set(j, (acc = { dk: new Float32Array(kv.length * width), dv: new Float32Array(kv.length * width) }));
        dsink[h]! += attendHeadBackward(
          input.q,
          off,
          kv.k,
          kv.v,
          kv.length,
          width,
          h * headDim,
          headDim,
          input.sink !== undefined,
          probs[t]![h]![m]!,
          dOut,
          off,
          r.weights[m]!,
          dq,
          off,
          acc.dk,
          acc.dv,
        );
      }
    }
  }
  const stride = groups * relDim;
  const scale = 1 / Math.sqrt(relDim);
  for (const [c, rs] of retrievals) {
    const dws = dW.get(c)!;
    for (let g = 0; g < groups; g++) {
      const r = rs[g]!;
      const dw = dws[g]!;
      let dot = 0;
      for (let m = 0; m < r.chunks.length; m++) dot += r.weights[m]! * dw[m]!;
      const qOff = (c - 1) * stride + g * relDim;
      for (let m = 0; m < r.chunks.length; m++) {
        const ds = r.weights[m]! * (dw[m]! - dot) * scale;
        const kOff = r.chunks[m]! * stride + g * relDim;
        for (let i = 0; i < relDim; i++) {
          dlq[qOff + i]! += ds * input.lk[kOff + i]!;
          dlk[kOff + i]! += ds * input.lq[qOff + i]!;
        }
      }
    }
  }
  return { dq, dlq, dlk, dkv, dsink };
}
