import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, QuarryError, SeededRandom, parseConfig, sha256, throwIfAborted, writeFileAtomic, z } from '@quarry/core';
import { DEFAULT_DRT_CONFIG, DrtModel, paramCount, type DrtConfig } from './model.js';
import { KEY_DIGITS, KEY_SPAN, passkeyExample } from './passkey.js';

export const trainOptionsSchema = z
  .object({
    seed: z.number().int().nonnegative().default(1),
    steps: z.number().int().positive().default(1500),
    batch: z.number().int().positive().default(16),
    lr: z.number().positive().default(1e-2),
    /** Curriculum: the first `warmFraction` of steps use at most `warmChunks` chunks (so top-k covers every past chunk). */
    warmChunks: z.number().int().min(2).default(8),
    warmFraction: z.number().min(0).max(1).default(0.4),
    /** Then the longest context grows linearly to `maxChunks` over `rampFraction` of the steps. */
    maxChunks: z.number().int().min(2).default(32),
    rampFraction: z.number().min(0).max(1).default(0.3),
    minChunks: z.number().int().min(2).default(2),
    /** Hard cap on training context (prompt + teacher-forced digits). */
    maxTokens: z.number().int().positive().default(4096),
    /** Share of examples whose key is placed across a chunk boundary (uniform depth otherwise). */
    crossingFraction: z.number().min(0).max(1).default(0.25),
    /**
     * Distractors (RULER-style) in the training prompts: with probability `decoyFraction` a prompt
     * gets 1..`decoysMax` unmarked 5-digit decoy runs, and independently with probability
     * `digitFraction` a share of its filler, uniform in [0, `digitRateMax`], becomes random digits.
     * Marked decoys (the similar-but-wrong marker) are never trained on: a held-out family.
     */
    decoyFraction: z.number().min(0).max(1).default(0.5),
    decoysMax: z.number().int().nonnegative().default(8),
    digitFraction: z.number().min(0).max(1).default(0.5),
    digitRateMax: z.number().min(0).max(0.5).default(0.06),
    gumbelScale: z.number().min(0).default(1),
    clip: z.number().positive().default(1),
    /** Start the lower layer's relative-position biases ALiBi-style (head h: -offset / 2^h) instead of at 0. */
    alibiInit: z.boolean().default(false),
  })
  .strict();

export type DrtTrainOptions = z.input<typeof trainOptionsSchema>;
export type ResolvedTrainOptions = z.output<typeof trainOptionsSchema>;

export interface TrainProgress {
  step: number;
  steps: number;
  /** Mean loss per answer token over the steps since the last report. */
  loss: number;
  /** Share of answer tokens predicted right (teacher forcing) since the last report. */
  tokenAccuracy: number;
  maxChunks: number;
  seconds: number;
}

export interface TrainResult {
  model: DrtModel;
  options: ResolvedTrainOptions;
  history: TrainProgress[];
  seconds: number;
}

/** Longest context (in chunks) allowed at `step` by the curriculum. */
export function curriculumChunks(o: ResolvedTrainOptions, step: number): number {
  const warmEnd = o.warmFraction * o.steps;
  if (step < warmEnd) return Math.min(o.warmChunks, o.maxChunks);
  const ramp = Math.max(1, o.rampFraction * o.steps);
  const f = Math.min(1, (step - warmEnd) / ramp);
  return Math.round(Math.min(o.warmChunks, o.maxChunks) + f * (o.maxChunks - Math.min(o.warmChunks, o.maxChunks)));
}

/**
 * Trains the passkey DRT: Adam (b1 0.9, b2 0.999), warm-up then cosine decay to lr / 10,
 * global-norm clipping, batches of seeded passkey prompts with a length curriculum, loss on
 * the five answer digits (teacher forcing). Deterministic: same options, same weights, bit for bit.
 */
export function trainPasskeyModel(
  input: DrtTrainOptions = {},
  hooks: { config?: DrtConfig; init?: DrtModel; signal?: AbortSignal; onProgress?: (p: TrainProgress) => void; reportEvery?: number } = {},
): TrainResult {
  // A ConfigError listing every offending key, with the closest valid one for a misspelling.
  const o = parseConfig(trainOptionsSchema, input, 'DRT training options');
  const config = hooks.config ?? DEFAULT_DRT_CONFIG;
  const S = config.chunk;
  // `init`: continue from these weights (a copy; same shapes as `config`) instead of a seeded initialisation.
  if (hooks.init && hooks.init.params.length !== paramCount(config))
    throw new InputError(`DRT training: init weights hold ${hooks.init.params.length} values, the config needs ${paramCount(config)}.`);
  const model = hooks.init ? new DrtModel(config, hooks.init.params.slice()) : DrtModel.init(config, o.seed);
  if (o.alibiInit && !hooks.init) {
    const B = model.weights.B;
    for (let h = 0; h < config.heads; h++) for (let t = 0; t < config.window; t++) B[h * config.window + t] = -t * 2 ** -h;
    model.invalidate();
  }
  const dataRng = new SeededRandom((o.seed * 2654435761 + 1) >>> 0);
  const gumbel = new SeededRandom((o.seed * 40503 + 7) >>> 0);
  const n = model.params.length;
  const grad = new Float32Array(n);
  const m1 = new Float64Array(n);
  const m2 = new Float64Array(n);
  const b1 = 0.9;
  const b2 = 0.999;
  const warmup = Math.min(30, o.steps);
  const history: TrainProgress[] = [];
  const every = hooks.reportEvery ?? 50;
  const started = performance.now();
  let lossSum = 0;
  let tokSum = 0;
  let tokCorrect = 0;
  for (let step = 0; step < o.steps; step++) {
    throwIfAborted(hooks.signal, 'DRT training');
    grad.fill(0);
    const dqk = model.newTableGrad();
    const maxC = curriculumChunks(o, step);
    const scale = 1 / (o.batch * KEY_DIGITS);
    for (let b = 0; b < o.batch; b++) {
      const chunks = o.minChunks + dataRng.int(Math.max(1, maxC - o.minChunks + 1));
      const length = Math.min(o.maxTokens - (KEY_DIGITS - 1), chunks * S + dataRng.int(S));
      let keyStart: number | undefined;
      if (dataRng.next() < o.crossingFraction) {
        const boundaries = Math.floor((length - KEY_SPAN - 1) / S);
        if (boundaries >= 1) {
          const boundary = (1 + dataRng.int(boundaries)) * S;
          keyStart = Math.min(length - KEY_SPAN - 1, boundary - 1 - dataRng.int(KEY_SPAN - 1));
        }
      }
      // Decoys only where they fit loosely (at most one run per 4 key spans of prompt).
      const room = Math.floor(length / (4 * KEY_SPAN));
      const decoys = o.decoysMax > 0 && dataRng.next() < o.decoyFraction ? Math.min(room, 1 + dataRng.int(o.decoysMax)) : 0;
      const digitRate = o.digitRateMax > 0 && dataRng.next() < o.digitFraction ? dataRng.next() * o.digitRateMax : 0;
      const ex = passkeyExample(dataRng, length, { ...(keyStart === undefined ? {} : { keyStart }), decoys, digitRate });
      const tokens = new Uint8Array(length + KEY_DIGITS - 1);
      tokens.set(ex.tokens);
      tokens.set(ex.key.subarray(0, KEY_DIGITS - 1), length);
      const r = model.sequenceGrad(tokens, ex.key, grad, dqk, { gumbel, lossScale: scale });
      lossSum += r.loss;
      tokCorrect += r.correct;
      tokSum += KEY_DIGITS;
    }
    model.finishBackward(dqk, grad);
    let norm = 0;
    for (let i = 0; i < n; i++) norm += grad[i]! * grad[i]!;
    norm = Math.sqrt(norm);
    const clip = norm > o.clip ? o.clip / norm : 1;
    const progress = step < warmup ? (step + 1) / warmup : 1;
    const cosine = 0.1 + 0.45 * (1 + Math.cos((Math.PI * step) / o.steps));
    const lr = o.lr * progress * cosine;
    const c1 = 1 - b1 ** (step + 1);
    const c2 = 1 - b2 ** (step + 1);
    const p = model.params;
    for (let i = 0; i < n; i++) {
      const gi = grad[i]! * clip;
      m1[i] = b1 * m1[i]! + (1 - b1) * gi;
      m2[i] = b2 * m2[i]! + (1 - b2) * gi * gi;
      p[i]! -= (lr * (m1[i]! / c1)) / (Math.sqrt(m2[i]! / c2) + 1e-8);
    }
    model.invalidate();
    if ((step + 1) % every === 0 || step + 1 === o.steps) {
      const report: TrainProgress = {
        step: step + 1,
        steps: o.steps,
        loss: lossSum / tokSum,
        tokenAccuracy: tokCorrect / tokSum,
        maxChunks: maxC,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(report);
      hooks.onProgress?.(report);
      lossSum = 0;
      tokSum = 0;
      tokCorrect = 0;
    }
  }
  return { model, options: o, history, seconds: (performance.now() - started) / 1000 };
}

export const WEIGHTS_FORMAT = 'quarry-drt-weights';
export const WEIGHTS_VERSION = 1;

interface WeightsFile {
  format: string;
  version: number;
  config: DrtConfig;
  params: number;
  sha256: string;
  weights: string;
  training?: unknown;
}

/** Writes the model as one JSON file (config, float32 weights in base64, sha256), atomically. */
export async function saveDrtWeights(model: DrtModel, file: string, training?: unknown): Promise<void> {
  const bytes = Buffer.from(model.params.buffer, model.params.byteOffset, model.params.byteLength);
  const body: WeightsFile = {
    format: WEIGHTS_FORMAT,
    version: WEIGHTS_VERSION,
    config: model.config,
    params: model.params.length,
    sha256: sha256(bytes),
    weights: bytes.toString('base64'),
    ...(training === undefined ? {} : { training }),
  };
  await writeFileAtomic(file, `${JSON.stringify(body, null, 1)}\n`);
}

/** Loads weights written by `saveDrtWeights`, checking format, size and checksum. */
export function loadDrtWeights(file: string): DrtModel {
  if (!existsSync(file)) throw new QuarryError('NOT_FOUND', `DRT weights file ${file} does not exist; train one with \`npm run train -w @quarry/drt\`.`);
  let body: WeightsFile;
  try {
    body = JSON.parse(readFileSync(file, 'utf8')) as WeightsFile;
  } catch (error) {
    throw new QuarryError('MODEL_INVALID', `${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || typeof body.weights !== 'string' || typeof body.config !== 'object' || body.config === null) {
    throw new QuarryError('MODEL_INVALID', `${file}: expected a JSON object with "config" and base64 "weights" (a file written by saveDrtWeights).`);
  }
  if (body.format !== WEIGHTS_FORMAT || body.version !== WEIGHTS_VERSION) {
    throw new QuarryError('MODEL_INVALID', `${file}: expected format ${WEIGHTS_FORMAT} v${WEIGHTS_VERSION}, got ${String(body.format)} v${String(body.version)}.`);
  }
  const bytes = Buffer.from(body.weights, 'base64');
  if (sha256(bytes) !== body.sha256) throw new QuarryError('MODEL_INVALID', `${file}: weights checksum mismatch (file damaged).`);
  const need = paramCount(body.config);
  if (bytes.length !== need * 4) throw new QuarryError('MODEL_INVALID', `${file}: ${bytes.length / 4} weights for a config that needs ${need}.`);
  const params = new Float32Array(need);
  new Uint8Array(params.buffer).set(bytes);
  return new DrtModel(body.config, params);
}

/** The passkey model shipped in this package (models/drt-passkey.json). */
export function bundledWeightsPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', 'models', 'drt-passkey.json'), join(here, '..', '..', 'models', 'drt-passkey.json')]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new QuarryError('NOT_FOUND', 'The bundled DRT passkey weights (models/drt-passkey.json) were not found; pass a weights file.');
}
