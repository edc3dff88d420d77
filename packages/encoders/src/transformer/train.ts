import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, type RaggedMatrix, SeededRandom, assertWritableIndexDir, hashString, openIndexDir, saveIndexDir, throwIfAborted, writeFileAtomic } from '@quarry/core';
import { Adam } from '../adam.js';
import { matryoshkaInfoNce } from '../losses.js';
import { readSafetensors, tensorToFloat32, writeSafetensors, type WritableTensor } from '../safetensors.js';
import { TextTokenizer } from '../tokenizer.js';
import { readTrainingExamples, type TrainingExample } from '../training-data.js';
import { TransformerRuntime, accumulateGradients, padBatch, weightsOf, type IdBatch, type TransformerModel } from './model.js';

/** One JSONL training file and its share of the batches. */
export interface TrainingSource {
  path: string;
  /** Relative sampling weight (default 1): each example of a batch is drawn from a file with probability proportional to it. */
  weight?: number;
}

export interface TransformerTrainProgress {
  phase: 'read' | 'train' | 'eval' | 'checkpoint' | 'done';
  step: number;
  totalSteps: number;
  loss?: number;
  /** The caller's dev metric (e.g. nDCG@10 on a held-out train split), at eval steps. */
  dev?: number;
  elapsedMs: number;
}

export interface TrainTransformerOptions {
  /** The model to train in place (TransformerModel.init: random or warm-started). */
  model: TransformerModel;
  /** JSONL files of (query, positive, negative_1, ...) examples, as trainEncoder reads. */
  data: readonly (string | TrainingSource)[];
  /** Folder with tokenizer.json. */
  tokenizerDir: string;
  steps: number;
  batchSize?: number;
  /** Hard negatives per example (from negative_1..; default 1). */
  negatives?: number;
  lr?: number;
  /** Learning rate of the token-embedding table (default lr). */
  lrEmbeddings?: number;
  /** Fraction of steps of linear warm-up (default 0.1), then linear decay to 0. */
  warmup?: number;
  temperature?: number;
  /** Matryoshka prefix dims (default: 64, 128, hidden where < hidden). */
  matryoshkaDims?: readonly number[];
  maxQueryLength?: number;
  maxDocLength?: number;
  seed?: number;
  /** onnxruntime intra-op threads (results are bit-identical for a given count). */
  threads?: number;
  /**
   * A token-level loss for the ColBERT head, e.g. @quarry/colbert's `maxSimInfoNce` (passed in,
   * since this package cannot depend on colbert). It gets the B queries' and M documents'
   * projected token vectors (raw; padding dropped) and the duplicate-positive mask, and
   * returns the loss and its gradients. Added to the dense loss with `colbertWeight` (default 1).
   */
  colbertLoss?: (batch: { queries: RaggedMatrix; docs: RaggedMatrix; exclude: Uint8Array }) => Promise<TokenLossResult> | TokenLossResult;
  colbertWeight?: number;
  /** Checkpoint folder (written atomically with checksums); a run with the same options resumes from it. */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** A dev-set metric of the current weights (e.g. nDCG@10 on held-out train queries); never a test split. */
  evaluate?: (model: TransformerModel) => Promise<number>;
  evalEvery?: number;
  /** SVG file for the loss and dev curves. */
  curveFile?: string;
  onProgress?: (p: TransformerTrainProgress) => void;
  signal?: AbortSignal;
}

export interface TokenLossResult {
  loss: number;
  /** d(loss)/d(query token vectors), rows x colbertDim. */
  gradQueries: Float64Array;
  gradDocs: Float64Array;
}

export interface TrainTransformerResult {
  steps: number;
  losses: number[];
  dev: { step: number; value: number }[];
  /** Useful floating-point operations per training step (forward + backward, no recomputation), averaged. */
  flopsPerStep: number;
  /** CPU seconds of the process spent in training steps. */
  cpuSeconds: number;
  resumedFrom: number;
}

const CHECKPOINT_FORMAT = 'quarry-transformer-checkpoint';

interface CheckpointState {
  step: number;
  fingerprint: string;
  losses: number[];
  dev: { step: number; value: number }[];
  adamT: number;
}

/**
 * Trains a TransformerModel with InfoNCE (in-batch + hard negatives, Matryoshka prefixes)
 * on the pooled embedding. Batches are a pure function of (data, seed, step): examples are
 * drawn by file weight, and each group of 8 batches is sorted by document length before
 * being cut (length bucketing), so a resumed run replays the schedule and continues with
 * exactly the batches, weights and Adam moments of an uninterrupted one.
 */
export async function trainTransformer(options: TrainTransformerOptions): Promise<TrainTransformerResult> {
  const started = Date.now();
  const { model } = options;
  const c = model.config;
  const o = {
    batchSize: options.batchSize ?? 32,
    negatives: options.negatives ?? 1,
    lr: options.lr ?? 1e-4,
    warmup: options.warmup ?? 0.1,
    temperature: options.temperature ?? 0.05,
    maxQueryLength: Math.min(options.maxQueryLength ?? 64, c.maxPositions),
    maxDocLength: Math.min(options.maxDocLength ?? 256, c.maxPositions),
    seed: options.seed ?? 42,
    threads: options.threads ?? 1,
    checkpointEvery: options.checkpointEvery ?? 100,
    evalEvery: options.evalEvery ?? 100,
  };
  const lrEmb = options.lrEmbeddings ?? o.lr;
  if (!Number.isInteger(options.steps) || options.steps < 1) throw new InputError(`steps must be a positive integer, got ${options.steps}.`);
  if (o.batchSize < 2) throw new InputError('batchSize must be at least 2 (in-batch negatives).');
  const dims = [...new Set([...(options.matryoshkaDims ?? [64, 128]).filter((d) => d < c.hidden), c.hidden])].sort((a, b) => a - b);
  const sources = options.data.map((s) => (typeof s === 'string' ? { path: s, weight: 1 } : { path: s.path, weight: s.weight ?? 1 }));
  if (!sources.length) throw new InputError('trainTransformer needs at least one training file (`data`).');
  for (const s of sources) {
    if (!existsSync(s.path)) throw new InputError(`training data ${s.path} not found.`);
    if (!(s.weight > 0)) throw new InputError(`weight of ${s.path} must be > 0.`);
  }
  if (options.checkpointDir) await assertWritableIndexDir(options.checkpointDir);
  const progress = (p: Omit<TransformerTrainProgress, 'elapsedMs'>): void => options.onProgress?.({ ...p, elapsedMs: Date.now() - started });

  progress({ phase: 'read', step: 0, totalSteps: options.steps });
  const perFile: TrainingExample[][] = [];
  for (const s of sources) {
    const list: TrainingExample[] = [];
    for await (const ex of readTrainingExamples([s.path])) list.push(ex);
    if (!list.length) throw new InputError(`training data ${s.path} holds no example.`);
    perFile.push(list);
  }
  const tokenizer = TextTokenizer.fromDir(options.tokenizerDir);
  const cache = new Map<string, Int32Array>();
  const tok = (text: string, max: number): Int32Array => {
    const key = `${max}\u0000${text}`;
    let ids = cache.get(key);
    if (!ids) {
      ids = tokenizer.encode(text, { maxLength: max, addSpecialTokens: true });
      if (cache.size > 200_000) cache.clear();
      cache.set(key, ids);
    }
    return ids;
  };
  const fingerprint = String(
    hashString(
      JSON.stringify({
        // What decides the weights (not threads, checkpoint or eval cadence).
        o: { ...o, threads: undefined, checkpointEvery: undefined, evalEvery: undefined },
        lrEmb,
        dims,
        colbert: options.colbertLoss ? (options.colbertWeight ?? 1) : 0,
        steps: options.steps,
        sources: sources.map((s, i) => [s.weight, perFile[i]!.length, hashString(JSON.stringify(perFile[i]!.slice(0, 50)))]),
        config: c,
      }),
    ),
  );

  // The batch schedule: groups of 8 batches drawn by file weight, each sorted by document length.
  const schedule = new BatchSchedule(
    perFile,
    sources.map((s) => s.weight),
    o.batchSize,
    o.seed,
    (ex) => tok(ex.positive, o.maxDocLength).length,
  );

  const params = model.params();
  const tokParam = params[0]!;
  const adamEmb = new Adam([tokParam], { lr: lrEmb });
  const adam = new Adam(params.slice(1), { lr: o.lr });
  const rt = await TransformerRuntime.create(c, { threads: o.threads });
  const losses: number[] = [];
  const dev: { step: number; value: number }[] = [];
  let start = 0;
  if (options.checkpointDir && existsSync(join(options.checkpointDir, 'manifest.json'))) {
    const st = await readCheckpoint(options.checkpointDir, fingerprint, model, [adamEmb, adam]);
    start = st.step;
    losses.push(...st.losses);
    dev.push(...st.dev);
  }
  const resumedFrom = start;
  let flops = 0;
  let cpu = 0;
  const w = weightsOf(model);
  const d = c.hidden;
  for (let step = start; step < options.steps; step++) {
    throwIfAborted(options.signal, 'training');
    const examples = schedule.batch(step);
    const t0 = process.cpuUsage();
    const q = padBatch(examples.map((ex) => tok(ex.query, o.maxQueryLength)));
    const docs: Int32Array[] = examples.map((ex) => tok(ex.positive, o.maxDocLength));
    for (const ex of examples) for (const n of ex.negatives.slice(0, o.negatives)) docs.push(tok(n, o.maxDocLength));
    const dBatch = padBatch(docs);
    const fq = await rt.forward(w, q);
    const fd = await rt.forward(w, dBatch);
    const B = q.B;
    const M = dBatch.B;
    // Exclude a column that repeats the query's own positive text (duplicates within a batch).
    const exclude = new Uint8Array(B * M);
    const docText = [...examples.map((e) => e.positive), ...examples.flatMap((e) => e.negatives.slice(0, o.negatives))];
    for (let i = 0; i < B; i++) for (let j = 0; j < M; j++) if (j !== i && docText[j] === examples[i]!.positive) exclude[i * M + j] = 1;
    const loss = matryoshkaInfoNce({ queries: Float64Array.from(fq.pooled), docs: Float64Array.from(fd.pooled), B, M, dim: d, exclude }, { temperature: o.temperature, dims });
    let total = loss.loss;
    let colQ: Float64Array | undefined;
    let colD: Float64Array | undefined;
    if (options.colbertLoss) {
      if (!fq.colbert || !fd.colbert) throw new InputError('colbertLoss needs a model with a ColBERT head (colbertDim > 0).');
      const cw = options.colbertWeight ?? 1;
      const r = await options.colbertLoss({ queries: ragged(fq.colbert, q, c.colbertDim), docs: ragged(fd.colbert, dBatch, c.colbertDim), exclude });
      total += cw * r.loss;
      colQ = unragged(r.gradQueries, q, c.colbertDim, cw);
      colD = unragged(r.gradDocs, dBatch, c.colbertDim, cw);
    }
    accumulateGradients(params, q, await rt.backward(w, fq, { pooled: loss.gradQueries, ...(colQ ? { colbert: colQ } : {}) }), d);
    accumulateGradients(params, dBatch, await rt.backward(w, fd, { pooled: loss.gradDocs, ...(colD ? { colbert: colD } : {}) }), d);
    const warm = Math.max(1, Math.round(o.warmup * options.steps));
    const scale = step < warm ? (step + 1) / warm : Math.max(0, (options.steps - step) / Math.max(1, options.steps - warm));
    adamEmb.step(lrEmb * scale);
    adam.step(o.lr * scale);
    const u = process.cpuUsage(t0);
    cpu += (u.user + u.system) / 1e6;
    flops += stepFlops(c, q.B, q.L) + stepFlops(c, dBatch.B, dBatch.L);
    losses.push(total);
    progress({ phase: 'train', step: step + 1, totalSteps: options.steps, loss: total });
    const last = step + 1 === options.steps;
    if (options.evaluate && ((step + 1) % o.evalEvery === 0 || last)) {
      const value = await options.evaluate(model);
      dev.push({ step: step + 1, value });
      progress({ phase: 'eval', step: step + 1, totalSteps: options.steps, dev: value });
    }
    if (options.curveFile && ((step + 1) % o.evalEvery === 0 || last)) await writeFileAtomic(options.curveFile, curveSvg(losses, dev));
    if (options.checkpointDir && ((step + 1) % o.checkpointEvery === 0 || last)) {
      await writeCheckpoint(options.checkpointDir, model, [adamEmb, adam], { step: step + 1, fingerprint, losses, dev, adamT: adam.t });
      progress({ phase: 'checkpoint', step: step + 1, totalSteps: options.steps });
    }
  }
  progress({ phase: 'done', step: options.steps, totalSteps: options.steps });
  const done = options.steps - start;
  return { steps: options.steps, losses, dev, flopsPerStep: done ? flops / done : 0, cpuSeconds: cpu, resumedFrom };
}

/** The unpadded token rows of a [B, L, c] output, as a ragged matrix. */
function ragged(data: Float32Array | Float64Array, batch: IdBatch, c: number): RaggedMatrix {
  const offsets = new Int32Array(batch.B + 1);
  for (let b = 0; b < batch.B; b++) offsets[b + 1] = offsets[b]! + batch.lengths[b]!;
  const out = new Float32Array(offsets[batch.B]! * c);
  for (let b = 0; b < batch.B; b++) for (let t = 0; t < batch.lengths[b]!; t++) for (let j = 0; j < c; j++) out[(offsets[b]! + t) * c + j] = data[(b * batch.L + t) * c + j]!;
  return { dim: c, offsets, data: out };
}

/** Ragged row gradients back to a zero-padded [B, L, c] array, times `scale`. */
function unragged(grad: Float64Array, batch: IdBatch, c: number, scale: number): Float64Array {
  const out = new Float64Array(batch.B * batch.L * c);
  let row = 0;
  for (let b = 0; b < batch.B; b++) for (let t = 0; t < batch.lengths[b]!; t++, row++) for (let j = 0; j < c; j++) out[(b * batch.L + t) * c + j] = scale * grad[row * c + j]!;
  return out;
}

/** Multiply-add FLOPs (x2) of forward + backward (2x forward) for a [B, L] batch: projections, FFN and attention. */
export function stepFlops(c: { hidden: number; layers: number; intermediate: number; colbertDim: number }, B: number, L: number): number {
  const T = B * L;
  const d = c.hidden;
  const perLayer = 2 * T * d * (3 * d) + 2 * T * d * d + 2 * 2 * T * d * c.intermediate + 2 * 2 * B * L * L * d;
  const forward = c.layers * perLayer + 2 * T * d * c.colbertDim;
  return 3 * forward;
}

class BatchSchedule {
  readonly #groups = new Map<number, TrainingExample[][]>();

  constructor(
    readonly files: readonly TrainingExample[][],
    readonly weights: readonly number[],
    readonly batchSize: number,
    readonly seed: number,
    readonly length: (ex: TrainingExample) => number,
  ) {}

  /** The examples of batch `step` (a pure function of the data, the seed and the step). */
  batch(step: number): TrainingExample[] {
    const g = Math.floor(step / 8);
    let group = this.#groups.get(g);
    if (!group) {
      this.#groups.clear();
      group = this.#group(g);
      this.#groups.set(g, group);
    }
    return group[step % 8]!;
  }

  #group(g: number): TrainingExample[][] {
    const rng = new SeededRandom(hashString(`${this.seed}:group:${g}`));
    const total = this.weights.reduce((a, b) => a + b, 0);
    const drawn: TrainingExample[] = [];
    // Within a file, examples are taken in a seeded per-epoch order, so every example is seen once per pass.
    for (let k = 0; k < 8 * this.batchSize; k++) {
      let r = rng.next() * total;
      let f = 0;
      while (f < this.weights.length - 1 && r >= this.weights[f]!) r -= this.weights[f++]!;
      drawn.push(this.#nth(f, g * 8 * this.batchSize + k));
    }
    // Length bucketing: sort the group by document length, cut into batches, shuffle batch order.
    const order = drawn.map((ex, i) => ({ ex, len: this.length(ex), i })).sort((a, b) => a.len - b.len || a.i - b.i);
    const batches: TrainingExample[][] = [];
    for (let b = 0; b < 8; b++) batches.push(order.slice(b * this.batchSize, (b + 1) * this.batchSize).map((x) => x.ex));
    rng.shuffle(batches);
    return batches;
  }

  readonly #orders = new Map<string, Int32Array>();

  /** Draw number `n` of the run: from file f, the example at that position of f's shuffled epoch. */
  #nth(f: number, n: number): TrainingExample {
    const list = this.files[f]!;
    const epoch = Math.floor(n / list.length);
    const key = `${f}:${epoch}`;
    let order = this.#orders.get(key);
    if (!order) {
      const perm = Array.from({ length: list.length }, (_, i) => i);
      new SeededRandom(hashString(`${this.seed}:file:${f}:epoch:${epoch}`)).shuffle(perm);
      order = Int32Array.from(perm);
      if (this.#orders.size > 16) this.#orders.clear();
      this.#orders.set(key, order);
    }
    return list[order[n % list.length]!]!;
  }
}

async function writeCheckpoint(dir: string, model: TransformerModel, adams: readonly Adam[], state: CheckpointState): Promise<void> {
  const tensors: Record<string, WritableTensor> = {};
  for (const p of model.params()) tensors[`param.${p.name}`] = { dtype: 'F32', shape: p.shape, data: p.value };
  for (const adam of adams) {
    adam.params.forEach((p, k) => {
      tensors[`adam_m.${p.name}`] = { dtype: 'F32', shape: p.shape, data: adam.m[k]! };
      tensors[`adam_v.${p.name}`] = { dtype: 'F32', shape: p.shape, data: adam.v[k]! };
    });
  }
  const bytes = writeSafetensors(tensors);
  await saveIndexDir(dir, { format: CHECKPOINT_FORMAT, version: 1, meta: { step: state.step } }, async (tmp) => {
    await writeFile(join(tmp, 'tensors.safetensors'), bytes);
    await writeFile(join(tmp, 'state.json'), `${JSON.stringify(state)}\n`);
  });
}

async function readCheckpoint(dir: string, fingerprint: string, model: TransformerModel, adams: readonly Adam[]): Promise<CheckpointState> {
  await openIndexDir(dir, CHECKPOINT_FORMAT, [1], { required: ['tensors.safetensors', 'state.json'] });
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  if (state.fingerprint !== fingerprint) {
    throw new InputError(`checkpoint in ${dir} was written by a run with different options, model size or data; use the same ones, or another checkpointDir.`, { dir });
  }
  const file = join(dir, 'tensors.safetensors');
  const raw = readSafetensors(file).tensors;
  const get = (name: string, into: Float32Array): void => {
    const t = raw.get(name);
    if (!t) throw new InputError(`checkpoint ${file} has no tensor ${name}.`);
    const v = tensorToFloat32(t);
    if (v.length !== into.length) throw new InputError(`checkpoint tensor ${name} holds ${v.length} values, expected ${into.length}.`);
    into.set(v);
  };
  for (const p of model.params()) get(`param.${p.name}`, p.value);
  for (const adam of adams) {
    adam.params.forEach((p, k) => {
      get(`adam_m.${p.name}`, adam.m[k]!);
      get(`adam_v.${p.name}`, adam.v[k]!);
    });
    adam.t = state.adamT;
  }
  return state;
}

/** A two-panel SVG: training loss per step (moving average of 20) and the dev metric at eval steps. */
export function curveSvg(losses: readonly number[], dev: readonly { step: number; value: number }[]): string {
  const W = 360;
  const H = 200;
  const pad = 36;
  const smooth = losses.map((_, i) => {
    const from = Math.max(0, i - 19);
    let s = 0;
    for (let k = from; k <= i; k++) s += losses[k]!;
    return s / (i - from + 1);
  });
  const panel = (x0: number, title: string, points: [number, number][], maxX: number): string => {
    if (!points.length) return '';
    const ys = points.map((p) => p[1]);
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    const sx = (x: number): number => x0 + pad + ((W - 2 * pad) * x) / Math.max(1, maxX);
    const sy = (y: number): number => H - pad - ((H - 2 * pad) * (y - lo)) / Math.max(1e-12, hi - lo);
    const path = points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    return [
      `<text x="${x0 + W / 2}" y="16" text-anchor="middle">${title}</text>`,
      `<rect x="${x0 + pad}" y="${pad}" width="${W - 2 * pad}" height="${H - 2 * pad}" fill="none" stroke="#999"/>`,
      `<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`,
      `<text x="${x0 + 4}" y="${pad + 4}">${hi.toFixed(3)}</text>`,
      `<text x="${x0 + 4}" y="${H - pad}">${lo.toFixed(3)}</text>`,
      `<text x="${x0 + W - pad}" y="${H - 8}" text-anchor="end">step ${maxX}</text>`,
    ].join('\n');
  };
  const maxX = losses.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif" font-size="11">`,
    panel(
      0,
      'training loss (moving mean of 20 steps)',
      smooth.map((y, i) => [i + 1, y]),
      maxX,
    ),
    panel(
      W,
      'dev metric',
      dev.map((p) => [p.step, p.value]),
      maxX,
    ),
    '</svg>',
    '',
  ].join('\n');
}
