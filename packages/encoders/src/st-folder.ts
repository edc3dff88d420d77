import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelInvalidError } from './errors.js';
import { readSafetensors, tensorToFloat32 } from './safetensors.js';

/**
 * Reads a model folder in the standard layouts as they are, without a Quarry-specific file:
 *
 * - sentence-transformers: `modules.json` (Transformer, Pooling, Dense, Normalize),
 *   `1_Pooling/config.json`, `N_Dense/config.json` + weights, `sentence_bert_config.json`
 *   (`max_seq_length`, `do_lower_case`), `config_sentence_transformers.json` (prompts and
 *   `default_prompt_name`), `tokenizer_config.json` (`model_max_length`);
 * - transformers.js / Optimum: `model.onnx`, `onnx/model.onnx`, `onnx/model_quantized.onnx`,
 *   `onnx/model_int8.onnx`.
 *
 * Settings follow what sentence-transformers does when it loads the same folder. What has to
 * be guessed is listed in `warnings`, each naming the file that would settle it.
 */

export const POOLING_MODES = ['cls', 'mean', 'max', 'lasttoken', 'weightedmean', 'mean_sqrt_len_tokens', 'none'] as const;
export type PoolingMode = (typeof POOLING_MODES)[number];
/** The modes that pool token vectors (all but `none`). */
export const POOLED_MODES = ['cls', 'mean', 'max', 'lasttoken', 'weightedmean', 'mean_sqrt_len_tokens'] as const;
export type PooledMode = (typeof POOLED_MODES)[number];
/** One mode, or several pooled modes whose vectors are concatenated in this order. */
export type PoolingSetting = PoolingMode | PooledMode[];

const ACTIVATIONS = {
  'torch.nn.modules.linear.Identity': 'identity',
  'torch.nn.modules.activation.Tanh': 'tanh',
  'torch.nn.modules.activation.ReLU': 'relu',
  'torch.nn.modules.activation.Sigmoid': 'sigmoid',
  'torch.nn.modules.activation.GELU': 'gelu',
} as const;
export type DenseActivation = (typeof ACTIVATIONS)[keyof typeof ACTIVATIONS];

/** A sentence-transformers / PyLate Dense module: y = activation(W x + b), W is [out, in] row-major. */
export interface DenseLayer {
  inFeatures: number;
  outFeatures: number;
  weight: Float32Array;
  bias: Float32Array | undefined;
  activation: DenseActivation;
  /** The folder the module came from (for messages). */
  path: string;
}

export interface StandardFolderSettings {
  /** Encoder settings found in the folder (only keys that were found). */
  config: {
    pooling?: PoolingSetting;
    includePrompt?: boolean;
    normalize?: boolean;
    maxLength?: number;
    queryPrefix?: string;
    documentPrefix?: string;
    lowercase?: boolean;
  };
  /** Dense modules after pooling (sentence-transformers) or on token vectors (PyLate), in order. */
  dense: DenseLayer[];
  /** Whether the folder has a modules.json (a sentence-transformers / PyLate save). */
  sentenceTransformers: boolean;
  /** Settings that had to be guessed (`setting` names the encoder config key), each saying which file to add. */
  warnings: { setting: 'pooling' | 'maxLength'; message: string }[];
}

type Json = Record<string, unknown>;

function readJsonIf(file: string): Json | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof value !== 'object' || value === null) throw new Error('not a JSON object or array');
    return value as Json;
  } catch (error) {
    throw new ModelInvalidError(file, `is not valid JSON (${(error as Error).message}).`, {}, { cause: error });
  }
}

const LARGE = 1e12;

/** The ONNX file of a folder: `model.onnx` or `onnx/model.onnx`, or with `quantized`, the int8 export beside it. */
export function findOnnxFile(dir: string, quantized = false): string | undefined {
  const names = quantized ? ['model_quantized.onnx', 'model_int8.onnx', 'model_qint8.onnx'] : ['model.onnx'];
  for (const name of names) for (const sub of ['', 'onnx']) if (existsSync(join(dir, sub, name))) return join(dir, sub, name);
  return undefined;
}

/** Reads the settings a sentence-transformers / Optimum folder carries. */
export function readStandardFolder(dir: string): StandardFolderSettings {
  const out: StandardFolderSettings = { config: {}, dense: [], sentenceTransformers: false, warnings: [] };
  const modules = readJsonIf(join(dir, 'modules.json')) as unknown;
  const stConfig = readJsonIf(join(dir, 'sentence_bert_config.json'));
  const tokConfig = readJsonIf(join(dir, 'tokenizer_config.json'));
  const prompts = readJsonIf(join(dir, 'config_sentence_transformers.json'));
  const modelConfig = readJsonIf(join(dir, 'config.json'));

  if (Array.isArray(modules)) {
    out.sentenceTransformers = true;
    let pooled = false;
    let normalize = false;
    for (const m of modules as Json[]) {
      const type = String(m['type'] ?? '');
      const path = typeof m['path'] === 'string' ? m['path'] : '';
      const kind = type.split('.').pop() ?? '';
      if (kind === 'Pooling') {
        const pooling = readPooling(join(dir, path, 'config.json'));
        out.config.pooling = pooling.mode;
        if (!pooling.includePrompt) out.config.includePrompt = false;
        pooled = true;
      } else if (kind === 'Dense') out.dense.push(readDense(join(dir, path)));
      else if (kind === 'Normalize') normalize = true;
      else if (kind !== 'Transformer' && kind !== 'MultiVectorMask') {
        throw new ModelInvalidError(join(dir, 'modules.json'), `lists a module Quarry does not run (${type}); supported: Transformer, Pooling, Dense, Normalize.`, { module: type });
      }
    }
    out.config.normalize = normalize;
    if (!pooled) out.config.pooling = 'cls';
    if (!pooled && !out.dense.length)
      out.warnings.push({ setting: 'pooling', message: `${join(dir, 'modules.json')} has no Pooling module; using the first token. Add a Pooling module (1_Pooling/config.json) to say how.` });
  } else {
    out.warnings.push({
      setting: 'pooling',
      message: `${dir}: no modules.json, so pooling (mean) and normalisation (on) are guessed; add the modules.json and 1_Pooling/config.json that sentence-transformers saves (or set them in quarry-encoder.json).`,
    });
  }

  // Length cap, as sentence-transformers resolves it: sentence_bert_config.json, then the tokenizer's model_max_length.
  const stMax = stConfig?.['max_seq_length'];
  const tokMax = tokConfig?.['model_max_length'];
  if (typeof stMax === 'number' && stMax > 0) out.config.maxLength = stMax;
  else if (typeof tokMax === 'number' && tokMax > 0 && tokMax < LARGE) out.config.maxLength = tokMax;
  else if (out.sentenceTransformers || tokConfig !== undefined) {
    const positions = modelConfig?.['max_position_embeddings'];
    // RoBERTa / XLM-R reserve padding_idx + 1 positions.
    const offset = modelConfig?.['model_type'] === 'roberta' || modelConfig?.['model_type'] === 'xlm-roberta' ? 2 : 0;
    if (typeof positions === 'number') out.config.maxLength = Math.min(512, positions - offset);
    out.warnings.push({
      setting: 'maxLength',
      message: `${dir}: no max_seq_length (sentence_bert_config.json) or model_max_length (tokenizer_config.json); texts are cut at ${out.config.maxLength ?? 512} tokens. Add max_seq_length to sentence_bert_config.json.`,
    });
  }
  if (stConfig?.['do_lower_case'] === true) out.config.lowercase = true;

  if (prompts) {
    const table = (typeof prompts['prompts'] === 'object' && prompts['prompts'] !== null ? prompts['prompts'] : {}) as Record<string, unknown>;
    const str = (k: string | undefined): string | undefined => (k !== undefined && typeof table[k] === 'string' ? (table[k] as string) : undefined);
    const fallback = typeof prompts['default_prompt_name'] === 'string' ? str(prompts['default_prompt_name']) : undefined;
    // encode_query uses "query"; encode_document the first of document / passage / corpus; both fall back to the default prompt.
    const query = str('query') ?? fallback;
    const document = str('document') ?? str('passage') ?? str('corpus') ?? fallback;
    if (query !== undefined) out.config.queryPrefix = query;
    if (document !== undefined) out.config.documentPrefix = document;
  }
  return out;
}

function readPooling(file: string): { mode: PoolingSetting; includePrompt: boolean } {
  const cfg = readJsonIf(file);
  if (!cfg) throw new ModelInvalidError(file, 'missing; modules.json lists a Pooling module, which needs its config.json.');
  let mode = cfg['pooling_mode'];
  if (mode === undefined) {
    // sentence-transformers <= 5: one boolean per mode; the active ones concatenate in this order.
    const legacy: [string, PooledMode][] = [
      ['pooling_mode_cls_token', 'cls'],
      ['pooling_mode_max_tokens', 'max'],
      ['pooling_mode_mean_tokens', 'mean'],
      ['pooling_mode_mean_sqrt_len_tokens', 'mean_sqrt_len_tokens'],
      ['pooling_mode_weightedmean_tokens', 'weightedmean'],
      ['pooling_mode_lasttoken', 'lasttoken'],
    ];
    const on = legacy.filter(([key]) => cfg[key] === true).map(([, m]) => m);
    mode = on.length === 0 ? 'mean' : on;
  }
  if (Array.isArray(mode) && mode.length === 1) mode = mode[0];
  const modes: unknown[] = Array.isArray(mode) ? mode : [mode];
  const bad = modes.find((m) => typeof m !== 'string' || !(POOLED_MODES as readonly string[]).includes(m));
  if (bad !== undefined || modes.length === 0) {
    throw new ModelInvalidError(file, `pooling mode ${JSON.stringify(bad ?? mode)} is not supported; Quarry runs ${POOLED_MODES.join(', ')} (or a list of them, concatenated).`);
  }
  return { mode: mode as PoolingSetting, includePrompt: cfg['include_prompt'] !== false };
}

function readDense(dir: string): DenseLayer {
  const configFile = join(dir, 'config.json');
  const cfg = readJsonIf(configFile);
  if (!cfg) throw new ModelInvalidError(configFile, 'missing; modules.json lists a Dense module, which needs its config.json.');
  const inFeatures = cfg['in_features'];
  const outFeatures = cfg['out_features'];
  if (typeof inFeatures !== 'number' || typeof outFeatures !== 'number') throw new ModelInvalidError(configFile, 'needs in_features and out_features.');
  const activationName = String(cfg['activation_function'] ?? 'torch.nn.modules.activation.Tanh');
  const activation = (ACTIVATIONS as Record<string, DenseActivation>)[activationName];
  if (!activation) throw new ModelInvalidError(configFile, `activation_function ${activationName} is not supported; Quarry runs ${Object.keys(ACTIVATIONS).join(', ')}.`);
  const weightsFile = join(dir, 'model.safetensors');
  if (!existsSync(weightsFile)) {
    throw new ModelInvalidError(
      weightsFile,
      'missing; a Dense module needs its weights as model.safetensors (convert pytorch_model.bin with safetensors, or re-save with sentence-transformers >= 3).',
    );
  }
  const tensors = readSafetensors(weightsFile).tensors;
  const w = tensors.get('linear.weight');
  if (!w) throw new ModelInvalidError(weightsFile, 'has no tensor "linear.weight".');
  if (w.shape.length !== 2 || w.shape[0] !== outFeatures || w.shape[1] !== inFeatures) {
    throw new ModelInvalidError(weightsFile, `linear.weight has shape [${w.shape.join(', ')}], expected [${outFeatures}, ${inFeatures}] (config.json).`);
  }
  const b = tensors.get('linear.bias');
  if (cfg['bias'] !== false && b && (b.shape.length !== 1 || b.shape[0] !== outFeatures)) {
    throw new ModelInvalidError(weightsFile, `linear.bias has shape [${b.shape.join(', ')}], expected [${outFeatures}].`);
  }
  return { inFeatures, outFeatures, weight: tensorToFloat32(w), bias: cfg['bias'] !== false && b ? tensorToFloat32(b) : undefined, activation, path: dir };
}

/** Applies Dense layers to `rows` vectors of width `layers[0].inFeatures` stored row-major in `data`. */
export function applyDense(layers: readonly DenseLayer[], data: Float32Array, rows: number, width: number): { data: Float32Array; width: number } {
  let cur = data;
  let w = width;
  for (const layer of layers) {
    if (layer.inFeatures !== w) throw new ModelInvalidError(join(layer.path, 'config.json'), `in_features is ${layer.inFeatures} but the vectors reaching it have ${w} dimensions.`);
    const next = new Float32Array(rows * layer.outFeatures);
    const W = layer.weight;
    for (let r = 0; r < rows; r++) {
      const x = r * w;
      for (let o = 0; o < layer.outFeatures; o++) {
        let s = layer.bias ? layer.bias[o]! : 0;
        const row = o * w;
        for (let i = 0; i < w; i++) s += W[row + i]! * cur[x + i]!;
        next[r * layer.outFeatures + o] = activate(layer.activation, s);
      }
    }
    cur = next;
    w = layer.outFeatures;
  }
  return { data: cur, width: w };
}

function activate(kind: DenseActivation, x: number): number {
  switch (kind) {
    case 'identity':
      return x;
    case 'tanh':
      return Math.tanh(x);
    case 'relu':
      return Math.max(x, 0);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
  }
}

/** erf for GELU: Maclaurin series below 2.5, the continued fraction of erfc above (double precision; the 7-digit textbook approximations are too coarse for 1e-6 parity). */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    // Maclaurin series converges fast here.
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}

/** Which warnings were already printed, so each folder warns once per process. */
const warned = new Set<string>();

/** Prints each warning once per process (process.emitWarning, code QUARRY_MODEL_GUESS). */
export function warnOnce(messages: readonly string[]): void {
  for (const m of messages) {
    if (warned.has(m)) continue;
    warned.add(m);
    process.emitWarning(m, { code: 'QUARRY_MODEL_GUESS' });
  }
}
