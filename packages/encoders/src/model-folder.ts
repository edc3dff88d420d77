import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, openIndexDir, z } from '@quarry/core';
import { ModelInvalidError } from './errors.js';
import { findOnnxFile, POOLED_MODES, POOLING_MODES, readStandardFolder, warnOnce, type DenseLayer } from './st-folder.js';

/** The small config file beside `model.onnx` and `tokenizer.json`. */
export const ENCODER_CONFIG_FILE = 'quarry-encoder.json';
export const MODEL_FORMAT = 'quarry-encoder';
export const MODEL_FORMAT_VERSION = 1;

/**
 * Upper bounds on sizes a config file may claim. Loaders check every claim against the
 * weights actually present before allocating; these bounds keep a damaged or hostile
 * config from even reaching that point with an absurd number.
 */
const MAX_DIM = 65_536;
const MAX_ROWS = 2 ** 28;
const MAX_TOKENS = 1 << 20;

const staticShape = {
  dim: z.number().int().positive().max(MAX_DIM),
  rows: z.number().int().positive().max(MAX_ROWS),
  vocabSize: z.number().int().positive().max(MAX_ROWS),
  learnWeights: z.boolean(),
  tfExponent: z.number().positive().max(1).optional(),
};

const ownModelSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('static'), ...staticShape }),
  z.object({
    type: z.literal('contextual'),
    ...staticShape,
    hidden: z.number().int().positive().max(MAX_DIM),
    kernel: z.number().int().positive().max(255),
  }),
]);

export const encoderConfigSchema = z.object({
  /**
   * How token vectors become one text vector (sentence-transformers' Pooling modes), or none (the
   * output is already pooled). Several modes are concatenated in the order given, as sentence-transformers does.
   */
  pooling: z.union([z.enum(POOLING_MODES), z.array(z.enum(POOLED_MODES)).min(1).max(POOLED_MODES.length)]).default('mean'),
  /** false: the prompt's tokens (query/document prefix) are left out of pooling (sentence-transformers' `include_prompt`). */
  includePrompt: z.boolean().default(true),
  /** L2-normalise text vectors (and token vectors). */
  normalize: z.boolean().default(true),
  queryPrefix: z.string().default(''),
  documentPrefix: z.string().default(''),
  /** Token budget per text, special tokens included. */
  maxLength: z.number().int().positive().max(MAX_TOKENS).default(512),
  /** Graph output to read for text vectors (rank 3 for cls/mean, rank 2 for none). Default: detected. */
  output: z.string().optional(),
  /** Graph output to read for token vectors (rank 3). Default: detected. */
  tokenOutput: z.string().optional(),
  addSpecialTokens: z.boolean().default(true),
  /** Lowercase texts before tokenising (sentence_bert_config.json `do_lower_case`). */
  lowercase: z.boolean().optional(),
  /** Matryoshka prefix dimensions the model was trained for (informational). */
  matryoshkaDims: z.array(z.number().int().positive().max(MAX_DIM)).max(64).optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  /** Present for Quarry's own models: lets `loadEncoder` run them in TypeScript. */
  model: ownModelSchema.optional(),
  /** Free-form provenance (training command, data, seed). */
  training: z.record(z.string(), z.unknown()).optional(),
});

/**
 * `OnnxEncoder.load` / `OnnxModel.load` / `OnnxTokenEncoder.load` options: overrides of the
 * folder's quarry-encoder.json (the same schema) plus runtime settings. Strict, so a
 * misspelled key (`{ pooling: 'mean', normalise: false }`) fails naming the closest one.
 */
export const onnxEncoderOptionsSchema = z.strictObject({
  ...encoderConfigSchema.partial().shape,
  threads: z.number().int().positive().optional(),
  batchSize: z.number().int().positive().optional(),
  fastTokenizer: z.boolean().optional(),
  /** Run the int8 export of the folder (onnx/model_quantized.onnx, model_int8.onnx). */
  quantized: z.boolean().optional(),
});

/** `loadEncoder(dir, options)`: the ONNX options plus the runtime choice. */
export const loadEncoderOptionsSchema = z.strictObject({ ...onnxEncoderOptionsSchema.shape, runtime: z.enum(['auto', 'onnx']).optional() });

/** `loadOwnModel(dir, options)`. */
export const loadOwnModelOptionsSchema = z.strictObject({ threads: z.number().int().positive().optional() });

/** `saveModel(dir, model, options)`: the config fields it writes use quarry-encoder.json's schema. */
export const saveModelOptionsSchema = z.strictObject({
  tokenizerDir: z.string(),
  precision: z.enum(['fp32', 'fp16', 'int8']).optional(),
  maxLength: encoderConfigSchema.shape.maxLength.optional(),
  matryoshkaDims: encoderConfigSchema.shape.matryoshkaDims,
  name: encoderConfigSchema.shape.name,
  description: encoderConfigSchema.shape.description,
  training: encoderConfigSchema.shape.training,
  overwrite: z.boolean().optional(),
});

export type EncoderConfig = z.output<typeof encoderConfigSchema>;
export type EncoderConfigInput = z.input<typeof encoderConfigSchema>;

export interface ModelFolder {
  dir: string;
  modelFile: string;
  tokenizerDir: string;
  config: EncoderConfig;
  /** Whether quarry-encoder.json was present (otherwise defaults were used). */
  hasConfig: boolean;
  /** Dense modules of a sentence-transformers folder (modules.json), applied after pooling. */
  dense?: DenseLayer[];
  /** Settings that were guessed (also printed once as a process warning). */
  warnings?: string[];
}

export interface OpenModelFolderOptions {
  /** Use the int8 export (`onnx/model_quantized.onnx`, `model_int8.onnx`, ...) instead of `model.onnx`. */
  quantized?: boolean;
}

/**
 * Checks a model folder: `model.onnx` (external data beside it is fine), `tokenizer.json`,
 * and `quarry-encoder.json` (optional for plain Hugging Face exports; defaults apply).
 * Folders written by Quarry carry a manifest whose checksums are verified.
 */
export async function openModelFolder(dir: string, overrides: Partial<EncoderConfigInput> = {}, options: OpenModelFolderOptions = {}): Promise<ModelFolder> {
  if (!existsSync(dir)) throw new ModelInvalidError(dir, 'model folder not found; expected a folder with model.onnx, tokenizer.json and quarry-encoder.json.');
  if (existsSync(join(dir, MANIFEST_FILE))) {
    try {
      // A folder Quarry wrote: everything read below must be listed (so checksummed).
      await openIndexDir(dir, MODEL_FORMAT, [MODEL_FORMAT_VERSION], { required: ['model.onnx', 'tokenizer.json', ENCODER_CONFIG_FILE] });
    } catch (error) {
      throw new ModelInvalidError(join(dir, MANIFEST_FILE), (error as Error).message, {}, { cause: error });
    }
  }
  const modelFile = join(dir, 'model.onnx');
  if (!existsSync(modelFile)) {
    const alt = join(dir, 'onnx', 'model.onnx');
    if (!existsSync(alt)) throw new ModelInvalidError(modelFile, 'missing; expected the ONNX export of the model (model.onnx, or onnx/model.onnx).');
  }
  let file = existsSync(modelFile) ? modelFile : join(dir, 'onnx', 'model.onnx');
  if (options.quantized) {
    const q = findOnnxFile(dir, true);
    if (!q)
      throw new ModelInvalidError(join(dir, 'onnx', 'model_quantized.onnx'), 'missing; quantized: true needs the int8 export (model_quantized.onnx or model_int8.onnx, at the top or under onnx/).');
    file = q;
  }
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new ModelInvalidError(join(dir, 'tokenizer.json'), 'missing; the model folder needs the tokenizer.json exported with the model.');
  const configFile = join(dir, ENCODER_CONFIG_FILE);
  const hasConfig = existsSync(configFile);
  let raw: unknown = {};
  if (hasConfig) {
    try {
      raw = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (error) {
      throw new ModelInvalidError(configFile, `is not valid JSON (${(error as Error).message}).`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelInvalidError(configFile, 'must hold a JSON object of settings.');
  // Precedence: the standard files (sentence-transformers, Optimum) < quarry-encoder.json < caller options.
  const standard = readStandardFolder(dir);
  const explicit = { ...(raw as Record<string, unknown>), ...stripUndefined(overrides) };
  const merged = { ...standard.config, ...explicit };
  // quarry-encoder.json is authoritative: with it nothing is a guess.
  const warnings = hasConfig ? [] : standard.warnings.filter((w) => explicit[w.setting] === undefined).map((w) => w.message);
  warnOnce(warnings);
  const parsed = encoderConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelInvalidError(configFile, `invalid encoder config (${issues}).`);
  }
  return { dir, modelFile: file, tokenizerDir: dir, config: parsed.data, hasConfig, dense: standard.dense, warnings };
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
