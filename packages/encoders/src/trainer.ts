import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, MANIFEST_FILE, checkOptions, SeededRandom, assertWritableIndexDir, openIndexDir, saveIndexDir, throwIfAborted } from '@quarry/core';
import { Adam } from './adam.js';
import { trainEncoderOptionsSchema } from './train-options.js';
import { ContextualModel } from './contextual-model.js';
import { importOnnx, type WeightPrecision } from './export-onnx.js';
import { matryoshkaInfoNce } from './losses.js';
import { mappingFromKeptIds, type OwnModelConfig, type TrainableModel, type TrainCache } from './model.js';
import { openModelFolder } from './model-folder.js';
import { loadOwnModel, saveModel, type OwnEncoder } from './own-model.js';
import { ppmiSvd } from './ppmi.js';
import { readSafetensors, tensorToFloat32, tensorToInt32, writeSafetensors, type WritableTensor } from './safetensors.js';
import { ContextualEncoder, StaticEncoder } from './static-encoder.js';
import { StaticModel } from './static-model.js';
import { TextTokenizer } from './tokenizer.js';
import { readTrainingExamples, shuffledEpoch, type TrainingExample } from './training-data.js';

/** The BERT uncased WordPiece tokenizer bundled with the package (tokenizers/bert-base-uncased). */
export function bundledTokenizerDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', 'tokenizers', 'bert-base-uncased'), join(here, '..', '..', 'tokenizers', 'bert-base-uncased')]) {
    if (existsSync(join(candidate, 'tokenizer.json'))) return candidate;
  }
  throw new InputError('The bundled tokenizer (tokenizers/bert-base-uncased) was not found; pass `tokenizer: DIR`.');
}

export interface TrainProgress {
  phase: 'vocabulary' | 'init' | 'train' | 'checkpoint' | 'save';
  /** Optimizer steps done / planned. */
  step: number;
  totalSteps: number;
  epoch: number;
  /** Loss of the last step (weighted sum over Matryoshka dims). */
  loss?: number;
  /** Loss per Matryoshka dim of the last step. */
  lossPerDim?: number[];
  lr?: number;
  elapsedMs: number;
  message?: string;
}

export interface TrainEncoderOptions {
  /** Training JSONL file(s): {"query","positive","negative_1",...} per line (.gz is fine). */
  data: string | readonly string[];
  /** Model folder to write when training ends (optional): new, empty, or a Quarry folder to replace. */
  out?: string;
  /** Replace `out` even if it holds files that are not a Quarry folder. */
  overwrite?: boolean;
  /** Tokenizer folder (tokenizer.json); default: the bundled bert-base-uncased. */
  tokenizer?: string;
  /** Architecture (default 'static'). */
  model?: 'static' | 'contextual';
  /** 'ppmi' (default): PPMI-SVD vectors from the training texts; 'random'; or an own model folder to continue from. */
  init?: string;
  /** Embedding width (default 256). */
  dim?: number;
  /** Matryoshka prefix dims (default [32, 64, 128, 256] up to dim; dim itself is always included). */
  mrlDims?: readonly number[];
  /** Weight of each Matryoshka dim's loss (default 1 each). */
  mrlWeights?: readonly number[];
  epochs?: number;
  batchSize?: number;
  /** Hard negatives used per example (default 1; more in the data are ignored). */
  negatives?: number;
  temperature?: number;
  lr?: number;
  /** Learning rate of the dense (convolution) parameters; default lr. */
  lrDense?: number;
  /** Fraction of steps with linear warm-up (default 0.1); then linear decay to 0. */
  warmup?: number;
  seed?: number;
  /** Token budget per text in training (default 256). */
  maxLength?: number;
  /** Token budget per text written to the saved model (default 512). */
  inferenceMaxLength?: number;
  /** Learn a weight per token (default true). */
  learnWeights?: boolean;
  /** Term-frequency exponent of the pooling (default 1 = plain mean; <1 = sublinear TF). */
  tfExponent?: number;
  /** Keep tokens seen at least this often in the training texts (default 1). */
  minCount?: number;
  /** Contextual block size (default hidden 32, kernel 3). */
  hidden?: number;
  kernel?: number;
  /** Train only the convolution block (contextual model from a static init). */
  freezeEmbeddings?: boolean;
  /** Examples per shuffle chunk (default 100000). */
  shuffleBuffer?: number;
  /** Folder for checkpoints; a run resumes from it when it holds one. */
  checkpointDir?: string;
  /** Write a checkpoint every N steps (default: at the end of each epoch only). */
  checkpointEvery?: number;
  /** Stop after this many steps in total (checkpoint first); the learning-rate schedule still spans all epochs, so a later run resumes exactly. */
  maxSteps?: number;
  /** Train for this many steps in total (schedule included), instead of whole epochs. */
  totalSteps?: number;
  /** Precision of the saved model's embedding table (default int8). */
  precision?: WeightPrecision;
  onProgress?: (progress: TrainProgress) => void;
  signal?: AbortSignal;
  /** Free-form provenance stored in quarry-encoder.json. */
  provenance?: Record<string, unknown>;
}

export interface TrainResult {
  model: TrainableModel;
  encoder: OwnEncoder;
  steps: number;
  /** Loss of every step of this run (resumed steps included when resuming). */
  losses: number[];
  out?: string;
  resumedFrom?: number;
}

const CHECKPOINT_FORMAT = 'quarry-train-checkpoint';

interface CheckpointState {
  fingerprint: string;
  step: number;
  epoch: number;
  batchInEpoch: number;
  adamT: number;
  losses: number[];
  config: OwnModelConfig;
}

/**
 * Trains one of Quarry's own encoders with InfoNCE (multiple-negatives ranking loss:
 * in-batch negatives plus hard negatives) under a Matryoshka loss, Adam, warm-up then
 * linear decay. Deterministic for a given seed and data; streams the data (two passes:
 * vocabulary, then training); checkpoints and resumes exactly.
 */
export async function trainEncoder(options: TrainEncoderOptions): Promise<TrainResult> {
  checkOptions(trainEncoderOptionsSchema, options, 'trainEncoder options');
  const started = Date.now();
  const files = typeof options.data === 'string' ? [options.data] : [...options.data];
  if (files.length === 0) throw new InputError('trainEncoder needs at least one training file (`data`).');
  for (const f of files) if (!existsSync(f)) throw new InputError(`training data ${f} not found.`);
  // Refuse an unsafe output folder now, not after the training it would throw away.
  if (options.out) await assertWritableIndexDir(options.out, { overwrite: options.overwrite === true });
  if (options.checkpointDir) await assertWritableIndexDir(options.checkpointDir);
  const o = {
    model: options.model ?? 'static',
    init: options.init ?? 'ppmi',
    dim: options.dim ?? 256,
    epochs: options.epochs ?? 1,
    batchSize: options.batchSize ?? 64,
    negatives: options.negatives ?? 1,
    temperature: options.temperature ?? 0.05,
    lr: options.lr ?? 5e-3,
    warmup: options.warmup ?? 0.1,
    seed: options.seed ?? 42,
    maxLength: options.maxLength ?? 256,
    learnWeights: options.learnWeights ?? true,
    tfExponent: options.tfExponent ?? 1,
    minCount: options.minCount ?? 1,
    hidden: options.hidden ?? 32,
    kernel: options.kernel ?? 3,
    shuffleBuffer: options.shuffleBuffer ?? 100_000,
    freezeEmbeddings: options.freezeEmbeddings ?? false,
  };
  const lrDense = options.lrDense ?? o.lr;
  const mrlDims = [...new Set([...(options.mrlDims ?? [32, 64, 128, 256]).filter((d) => d < o.dim), o.dim])].sort((a, b) => a - b);
  if (options.mrlWeights && options.mrlWeights.length !== mrlDims.length) throw new InputError(`mrlWeights needs one weight per Matryoshka dim (${mrlDims.join(', ')}).`);
  if (o.batchSize < 2) throw new InputError('batchSize must be at least 2 (in-batch negatives).');
  const progress = (p: Omit<TrainProgress, 'elapsedMs'>): void => options.onProgress?.({ ...p, elapsedMs: Date.now() - started });

  const tokenizerDir = options.tokenizer ?? (existsSync(join(o.init, 'tokenizer.json')) ? o.init : bundledTokenizerDir());
  const tokenizer = TextTokenizer.fromDir(tokenizerDir);
  const tokenCache = new Map<string, Int32Array>();
  const tokenize = (text: string): Int32Array => {
    let ids = tokenCache.get(text);
    if (!ids) {
      ids = tokenizer.encode(text, { maxLength: o.maxLength, addSpecialTokens: false });
      if (tokenCache.size > 300_000) tokenCache.clear();
      tokenCache.set(text, ids);
    }
    return ids;
  };

  // Pass 1: count examples, token frequencies, unique texts (for PPMI).
  progress({ phase: 'vocabulary', step: 0, totalSteps: 0, epoch: 0, message: 'reading training data' });
  let examples = 0;
  const counts = new Float64Array(tokenizer.vocabSize);
  const seen = new Set<string>();
  const uniqueSeqs: Int32Array[] = [];
  for await (const ex of readTrainingExamples(files)) {
    throwIfAborted(options.signal, 'training');
    examples++;
    for (const text of [ex.query, ex.positive, ...ex.negatives.slice(0, o.negatives)]) {
      if (seen.has(text)) continue;
      seen.add(text);
      const ids = tokenize(text);
      for (const id of ids) counts[id]!++;
      if (uniqueSeqs.length < 500_000) uniqueSeqs.push(ids);
    }
  }
  if (examples < 2) throw new InputError(`training data holds ${examples} example(s); at least 2 are needed.`);
  const stepsPerEpoch = Math.ceil(examples / o.batchSize);
  const totalSteps = Math.min(stepsPerEpoch * o.epochs, options.totalSteps ?? Infinity);

  const fingerprint = JSON.stringify({
    ...o,
    totalSteps,
    lrDense,
    mrlDims,
    mrlWeights: options.mrlWeights ?? null,
    files: files.map((f) => [basename(f), statSync(f).size]),
    tokenizer: tokenizer.vocabSize,
  });

  // Model: from a checkpoint, from an existing model folder, or fresh.
  let model: TrainableModel;
  let resume: { state: CheckpointState; tensors: Map<string, Float32Array> } | undefined;
  if (options.checkpointDir && existsSync(join(options.checkpointDir, MANIFEST_FILE))) {
    resume = await readCheckpoint(options.checkpointDir, fingerprint);
    model = buildFromCheckpoint(resume.state.config, resume.tensors);
  } else {
    progress({ phase: 'init', step: 0, totalSteps, epoch: 0, message: `init ${o.init}` });
    model = await initModel(o, counts, uniqueSeqs, tokenizer.vocabSize);
  }
  seen.clear();
  uniqueSeqs.length = 0;

  if (o.freezeEmbeddings && model instanceof ContextualModel) model.trainBase = false;
  const trainable = model.params();
  const denseAdam = new Adam(
    trainable.filter((p) => !p.sparse),
    { lr: lrDense },
  );
  const sparseAdam = new Adam(
    trainable.filter((p) => p.sparse),
    { lr: o.lr },
  );
  let step = 0;
  let startEpoch = 0;
  let skipBatches = 0;
  const losses: number[] = [];
  if (resume) {
    const { state, tensors } = resume;
    step = state.step;
    startEpoch = state.epoch;
    skipBatches = state.batchInEpoch;
    losses.push(...state.losses);
    for (const adam of [denseAdam, sparseAdam]) {
      adam.load({
        t: state.adamT,
        m: adam.params.map((p) => tensors.get(`adam_m.${p.name}`) ?? new Float32Array(p.value.length)),
        v: adam.params.map((p) => tensors.get(`adam_v.${p.name}`) ?? new Float32Array(p.value.length)),
      });
    }
  }
  const resumedFrom = resume ? step : undefined;
  const warmupSteps = Math.max(1, Math.round(o.warmup * totalSteps));
  const lrAt = (s: number): number => (s < warmupSteps ? (s + 1) / warmupSteps : Math.max(0, (totalSteps - s) / Math.max(1, totalSteps - warmupSteps)));
  const stopAt = Math.min(totalSteps, options.maxSteps ?? Infinity);

  const saveCheckpoint = async (epoch: number, batchInEpoch: number): Promise<void> => {
    if (!options.checkpointDir) return;
    progress({ phase: 'checkpoint', step, totalSteps, epoch });
    await writeCheckpoint(options.checkpointDir, model, [denseAdam, sparseAdam], { fingerprint, step, epoch, batchInEpoch, adamT: sparseAdam.t, losses, config: model.config });
  };

  training: for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
    let batchIndex = 0;
    let batch: TrainingExample[] = [];
    const run = async (): Promise<boolean> => {
      if (batchIndex++ < skipBatches) return true;
      throwIfAborted(options.signal, 'training');
      const loss = trainStep(model, batch, tokenize, o.negatives, o.temperature, mrlDims, options.mrlWeights);
      const scale = lrAt(step);
      denseAdam.step(lrDense * scale);
      sparseAdam.step(o.lr * scale);
      step++;
      losses.push(loss.loss);
      progress({ phase: 'train', step, totalSteps, epoch, loss: loss.loss, lossPerDim: loss.perDim, lr: o.lr * scale });
      if (options.checkpointEvery && step % options.checkpointEvery === 0 && step < stopAt) await saveCheckpoint(epoch, batchIndex);
      return step < stopAt;
    };
    for await (const ex of shuffledEpoch(files, o.seed, epoch, o.shuffleBuffer)) {
      batch.push(ex);
      if (batch.length === o.batchSize) {
        const more = await run();
        batch = [];
        if (!more) {
          await saveCheckpoint(epoch, batchIndex);
          break training;
        }
      }
    }
    if (batch.length >= 2 && !(await run())) {
      await saveCheckpoint(epoch + 1, 0);
      break;
    }
    skipBatches = 0;
    await saveCheckpoint(epoch + 1, 0);
  }

  const encoderOptions = { maxLength: options.inferenceMaxLength ?? 512, addSpecialTokens: false };
  let encoder: OwnEncoder;
  if (options.out) {
    progress({ phase: 'save', step, totalSteps, epoch: o.epochs });
    await saveModel(options.out, model, {
      tokenizerDir,
      precision: options.precision ?? 'int8',
      maxLength: encoderOptions.maxLength,
      matryoshkaDims: mrlDims,
      training: {
        ...options.provenance,
        steps: step,
        examples,
        epochs: o.epochs,
        seed: o.seed,
        dim: o.dim,
        batchSize: o.batchSize,
        negatives: o.negatives,
        temperature: o.temperature,
        lr: o.lr,
        mrlDims,
      },
      overwrite: options.overwrite === true,
    });
    encoder = await loadOwnModel(options.out);
  } else {
    encoder = model instanceof ContextualModel ? new ContextualEncoder(model, tokenizer, encoderOptions) : new StaticEncoder(model as StaticModel, tokenizer, encoderOptions);
  }
  return { model, encoder, steps: step, losses, out: options.out, resumedFrom };
}

/** One forward/backward pass over a batch; gradients are accumulated into the model's params. */
export function trainStep(
  model: TrainableModel,
  batch: readonly TrainingExample[],
  tokenize: (text: string) => Int32Array,
  negatives: number,
  temperature: number,
  dims: readonly number[],
  dimWeights?: readonly number[],
): { loss: number; perDim: number[] } {
  const d = model.dim;
  const B = batch.length;
  const docTexts = batch.map((e) => e.positive);
  for (const e of batch) for (const n of e.negatives.slice(0, negatives)) docTexts.push(n);
  const M = docTexts.length;
  const docKey = new Map<string, number>();
  const keys = docTexts.map((t) => {
    let k = docKey.get(t);
    if (k === undefined) docKey.set(t, (k = docKey.size));
    return k;
  });
  let exclude: Uint8Array | undefined;
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < M; j++) {
      if (j !== i && keys[j] === keys[i]) {
        exclude ??= new Uint8Array(B * M);
        exclude[i * M + j] = 1;
      }
    }
  }
  const qCaches: TrainCache[] = batch.map((e) => model.forwardTrain(tokenize(e.query)));
  const dCaches: TrainCache[] = docTexts.map((t) => model.forwardTrain(tokenize(t)));
  const queries = new Float64Array(B * d);
  const docs = new Float64Array(M * d);
  qCaches.forEach((c, i) => queries.set(c.pooled, i * d));
  dCaches.forEach((c, j) => docs.set(c.pooled, j * d));
  const result = matryoshkaInfoNce({ queries, docs, B, M, dim: d, exclude }, { temperature, dims, dimWeights });
  qCaches.forEach((c, i) => model.backward(c, result.gradQueries.subarray(i * d, (i + 1) * d)));
  dCaches.forEach((c, j) => model.backward(c, result.gradDocs.subarray(j * d, (j + 1) * d)));
  return { loss: result.loss, perDim: result.perDim };
}

async function initModel(
  o: { model: 'static' | 'contextual'; init: string; dim: number; learnWeights: boolean; tfExponent: number; minCount: number; hidden: number; kernel: number; seed: number },
  counts: Float64Array,
  seqs: readonly Int32Array[],
  vocabSize: number,
): Promise<TrainableModel> {
  const rng = new SeededRandom(o.seed);
  let base: StaticModel;
  if (o.init !== 'ppmi' && o.init !== 'random') {
    const folder = await openModelFolder(o.init);
    if (!folder.config.model) throw new InputError(`init folder ${o.init} is not one of Quarry's own models.`);
    const loaded = importOnnx(await readFile(folder.modelFile), folder.config.model, folder.modelFile);
    if (loaded.config.vocabSize !== vocabSize) throw new InputError(`init model has vocabulary ${loaded.config.vocabSize}, the tokenizer ${vocabSize}.`);
    if (o.model === 'static' || loaded instanceof ContextualModel) return loaded;
    base = loaded;
  } else {
    const kept: number[] = [];
    for (let id = 0; id < vocabSize; id++) if (counts[id]! >= o.minCount && counts[id]! > 0) kept.push(id);
    const { mapping } = mappingFromKeptIds(vocabSize, kept);
    const rows = kept.length;
    const config = { type: 'static' as const, dim: o.dim, rows, vocabSize, learnWeights: o.learnWeights, ...(o.tfExponent !== 1 ? { tfExponent: o.tfExponent } : {}) };
    if (o.init === 'random') base = StaticModel.random(config, mapping, rng);
    else {
      const mapped = seqs.map((s) => Int32Array.from(s, (id) => mapping[id]!));
      base = new StaticModel(config, mapping, ppmiSvd(mapped, rows, o.dim, { seed: o.seed }));
    }
  }
  return o.model === 'contextual' ? ContextualModel.init(base, o.hidden, o.kernel, rng) : base;
}

async function writeCheckpoint(dir: string, model: TrainableModel, adams: readonly Adam[], state: CheckpointState): Promise<void> {
  const tensors: Record<string, WritableTensor> = {};
  const params = model instanceof ContextualModel ? [...model.base.params(), ...model.params().filter((p) => p.name.startsWith('conv.'))] : model.params();
  for (const p of params) tensors[`param.${p.name}`] = { dtype: 'F32', shape: p.shape, data: p.value };
  for (const adam of adams) {
    adam.params.forEach((p, k) => {
      tensors[`adam_m.${p.name}`] = { dtype: 'F32', shape: p.shape, data: adam.m[k]! };
      tensors[`adam_v.${p.name}`] = { dtype: 'F32', shape: p.shape, data: adam.v[k]! };
    });
  }
  const mapping = model instanceof ContextualModel ? model.base.mapping : (model as StaticModel).mapping;
  tensors['mapping'] = { dtype: 'I32', shape: [mapping.length], data: mapping };
  const bytes = writeSafetensors(tensors);
  await saveIndexDir(dir, { format: CHECKPOINT_FORMAT, version: 1, meta: { step: state.step } }, async (tmp) => {
    await writeFile(join(tmp, 'tensors.safetensors'), bytes);
    await writeFile(join(tmp, 'state.json'), `${JSON.stringify(state)}\n`);
  });
}

async function readCheckpoint(dir: string, fingerprint: string): Promise<{ state: CheckpointState; tensors: Map<string, Float32Array> }> {
  await openIndexDir(dir, CHECKPOINT_FORMAT, [1]);
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  if (state.fingerprint !== fingerprint) {
    throw new InputError(`checkpoint in ${dir} was written by a run with different options or data; use the same options, or another checkpointDir.`, { dir });
  }
  const file = join(dir, 'tensors.safetensors');
  const raw = readSafetensors(file);
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of raw.tensors) tensors.set(name, name === 'mapping' ? new Float32Array(0) : tensorToFloat32(t));
  tensors.set('mapping', Float32Array.from(tensorToInt32(raw.tensors.get('mapping')!, file)));
  return { state, tensors };
}

function buildFromCheckpoint(config: OwnModelConfig, tensors: Map<string, Float32Array>): TrainableModel {
  const mapping = Int32Array.from(tensors.get('mapping')!);
  const sconf = {
    type: 'static' as const,
    dim: config.dim,
    rows: config.rows,
    vocabSize: config.vocabSize,
    learnWeights: config.learnWeights,
    ...(config.tfExponent !== undefined ? { tfExponent: config.tfExponent } : {}),
  };
  const base = new StaticModel(sconf, mapping, tensors.get('param.embeddings')!.slice(), tensors.get('param.weights')?.slice());
  if (config.type === 'static') return base;
  const get = (n: string): Float32Array => tensors.get(`param.conv.${n}`)!.slice();
  return new ContextualModel(config, base, { P: get('P'), W: get('W'), b: get('b'), Q: get('Q') });
}
