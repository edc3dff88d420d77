import { readFile } from 'node:fs/promises';
import { InputError, SeededRandom, checkOptions, throwIfAborted, type RaggedMatrix } from '@quarry/core';
import { trainTokenModelOptionsSchema } from '../options.js';
import { Adam, ContextualModel, importOnnx, openModelFolder, saveModel, TextTokenizer, type StaticModel, type TrainableModel, type TrainCache } from '@quarry/encoders';
import { Gemm } from '../gemm.js';
import { maxSimInfoNce } from './maxsim-loss.js';

export interface TokenTrainingExample {
  query: string;
  positive: string;
  negatives: readonly string[];
}

export interface TrainTokenModelOptions {
  /** One of Quarry's own model folders (static or contextual) to start from. */
  init: string;
  /** Put a fresh convolution block (hidden, kernel) on a static init; ignored for a contextual init. */
  contextual?: { hidden: number; kernel: number };
  examples: readonly TokenTrainingExample[];
  /** Model folder to write at the end. */
  out?: string;
  steps: number;
  batchSize?: number;
  /** Hard negatives per example (default 1). */
  negatives?: number;
  temperature?: number;
  /** Learning rate of the embedding table and token weights. */
  lr?: number;
  /** Learning rate of the convolution block. */
  lrDense?: number;
  warmup?: number;
  /** Matryoshka prefix dims (default 32, 64, 128 and the model dim). */
  dims?: readonly number[];
  maxQueryLength?: number;
  maxDocLength?: number;
  /** Train only the convolution block. */
  freezeEmbeddings?: boolean;
  seed?: number;
  threads?: number;
  name?: string;
  description?: string;
  provenance?: Record<string, unknown>;
  onProgress?: (p: { step: number; totalSteps: number; loss: number; perDim: number[] }) => void;
  signal?: AbortSignal;
}

export interface TrainTokenModelResult {
  model: TrainableModel;
  losses: number[];
}

/**
 * Trains one of Quarry's own encoders as a late-interaction (ColBERT) token model: InfoNCE
 * over MaxSim scores with in-batch and hard negatives, Matryoshka over prefix dims, Adam
 * with warm-up then linear decay. Deterministic for a seed (the similarity GEMM runs on a
 * fixed thread count). The saved folder is an ordinary own-model folder whose
 * `token_embeddings` output is what ColBERT indexes.
 */
export async function trainTokenModel(options: TrainTokenModelOptions): Promise<TrainTokenModelResult> {
  checkOptions(trainTokenModelOptionsSchema, options, 'trainTokenModel options');
  if (options.examples.length === 0) throw new InputError('trainTokenModel needs training examples.');
  const folder = await openModelFolder(options.init);
  if (!folder.config.model) throw new InputError(`${options.init} is not one of Quarry's own models (no "model" in quarry-encoder.json).`);
  const loaded = importOnnx(await readFile(folder.modelFile), folder.config.model, folder.modelFile);
  const rng = new SeededRandom(options.seed ?? 42);
  const model: TrainableModel =
    loaded instanceof ContextualModel || !options.contextual ? loaded : ContextualModel.init(loaded as StaticModel, options.contextual.hidden, options.contextual.kernel, rng);
  if (model instanceof ContextualModel && options.freezeEmbeddings) model.trainBase = false;
  const tokenizer = TextTokenizer.fromDir(folder.tokenizerDir);
  const d = model.dim;
  const dims = [...new Set([...(options.dims ?? [32, 64, 128].filter((x) => x < d)), d])].sort((a, b) => a - b);
  const batchSize = options.batchSize ?? 32;
  const negatives = options.negatives ?? 1;
  const temperature = options.temperature ?? 0.05;
  const lr = options.lr ?? 1e-3;
  const lrDense = options.lrDense ?? lr;
  const steps = options.steps;
  const warmupSteps = Math.max(1, Math.round(steps * (options.warmup ?? 0.1)));
  const lrAt = (s: number): number => (s < warmupSteps ? (s + 1) / warmupSteps : Math.max(0, (steps - s) / Math.max(1, steps - warmupSteps)));
  const params = model.params();
  const sparseAdam = new Adam(
    params.filter((p) => p.sparse),
    { lr },
  );
  const denseAdam = new Adam(
    params.filter((p) => !p.sparse),
    { lr: lrDense },
  );
  const gemm = new Gemm(options.threads ?? 2);
  const tokenCache = new Map<string, Int32Array>();
  const tokenize = (text: string, maxLength: number): Int32Array => {
    const key = `${maxLength}\u0000${text}`;
    let ids = tokenCache.get(key);
    if (!ids) tokenCache.set(key, (ids = tokenizer.encode(text, { maxLength, addSpecialTokens: false })));
    return ids;
  };
  const order = Array.from(options.examples.keys());
  const losses: number[] = [];
  let cursor = order.length;
  for (let step = 0; step < steps; step++) {
    throwIfAborted(options.signal, 'token model training');
    const batch = [];
    while (batch.length < batchSize) {
      if (cursor >= order.length) {
        shuffle(order, rng);
        cursor = 0;
      }
      batch.push(options.examples[order[cursor++]!]!);
    }
    const docTexts = batch.map((e) => e.positive);
    for (const e of batch) docTexts.push(...e.negatives.slice(0, negatives));
    const exclude = excludeDuplicates(batch.length, docTexts);
    const q = forward(
      model,
      batch.map((e) => tokenize(e.query, options.maxQueryLength ?? 32)),
    );
    const k = forward(
      model,
      docTexts.map((t) => tokenize(t, options.maxDocLength ?? 180)),
    );
    const result = await maxSimInfoNce({ queries: q.matrix, docs: k.matrix, exclude }, { temperature, dims, gemm });
    q.caches.forEach((c, i) => model.backwardTokens(c, result.gradQueries.subarray(q.matrix.offsets[i]! * d, q.matrix.offsets[i + 1]! * d)));
    k.caches.forEach((c, j) => model.backwardTokens(c, result.gradDocs.subarray(k.matrix.offsets[j]! * d, k.matrix.offsets[j + 1]! * d)));
    const scale = lrAt(step);
    sparseAdam.step(lr * scale);
    denseAdam.step(lrDense * scale);
    losses.push(result.loss);
    options.onProgress?.({ step: step + 1, totalSteps: steps, loss: result.loss, perDim: result.perDim });
  }
  await gemm.release();
  if (options.out) {
    await saveModel(options.out, model, {
      tokenizerDir: folder.tokenizerDir,
      matryoshkaDims: dims,
      maxLength: folder.config.maxLength,
      ...(options.name ? { name: options.name } : {}),
      ...(options.description ? { description: options.description } : {}),
      training: { ...options.provenance, objective: 'maxsim-infonce', init: folder.config.name ?? options.init, steps, batchSize, negatives, temperature, lr, lrDense, dims, seed: options.seed ?? 42 },
    });
  }
  return { model, losses };
}

function forward(model: TrainableModel, seqs: readonly Int32Array[]): { matrix: RaggedMatrix; caches: TrainCache[] } {
  const d = model.dim;
  const caches: TrainCache[] = [];
  const parts: Float32Array[] = [];
  const offsets = new Int32Array(seqs.length + 1);
  seqs.forEach((ids, i) => {
    const { cache, tokens } = model.forwardTokens(ids);
    caches.push(cache);
    parts.push(tokens);
    offsets[i + 1] = offsets[i]! + ids.length;
  });
  const data = new Float32Array(offsets[seqs.length]! * d);
  parts.forEach((p, i) => data.set(p, offsets[i]! * d));
  return { matrix: { dim: d, offsets, data }, caches };
}

function excludeDuplicates(B: number, docTexts: readonly string[]): Uint8Array | undefined {
  const M = docTexts.length;
  let exclude: Uint8Array | undefined;
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < M; j++) {
      if (j !== i && docTexts[j] === docTexts[i]) {
        exclude ??= new Uint8Array(B * M);
        exclude[i * M + j] = 1;
      }
    }
  }
  return exclude;
}

function shuffle(a: number[], rng: SeededRandom): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
