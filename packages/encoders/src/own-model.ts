import { existsSync, readFileSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkOptions, saveIndexDir, type Encoder, type TokenEncoder } from '@quarry/core';
import { ContextualModel } from './contextual-model.js';
import { ModelInvalidError } from './errors.js';
import { exportOnnx, importOnnx, SENTENCE_OUTPUT, TOKEN_OUTPUT, type WeightPrecision } from './export-onnx.js';
import type { TrainableModel } from './model.js';
import {
  ENCODER_CONFIG_FILE,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  loadEncoderOptionsSchema,
  loadOwnModelOptionsSchema,
  openModelFolder,
  saveModelOptionsSchema,
  type EncoderConfigInput,
} from './model-folder.js';
import { loadModel2Vec } from './model2vec.js';
import { OnnxEncoder, OnnxModel, OnnxTokenEncoder, type OnnxEncoderOptions } from './onnx-encoder.js';
import { ParallelStaticEncoder } from './parallel.js';
import { ContextualEncoder, StaticEncoder } from './static-encoder.js';
import { TextTokenizer } from './tokenizer.js';

export interface SaveModelOptions {
  /** Folder holding the tokenizer.json the model was trained with (copied). */
  tokenizerDir: string;
  /** Precision of the exported embedding table (default int8). */
  precision?: WeightPrecision;
  maxLength?: number;
  matryoshkaDims?: number[];
  name?: string;
  description?: string;
  training?: Record<string, unknown>;
  /** Replace `dir` even if it holds files that are not a Quarry folder (default: refuse, see core's assertWritableIndexDir). */
  overwrite?: boolean;
}

/**
 * Writes one of Quarry's own models as a model folder that both runtimes read:
 * `model.onnx` (exportOnnx), `tokenizer.json` (+ tokenizer_config.json),
 * `quarry-encoder.json` (pooling none on `sentence_embedding`, token output
 * `token_embeddings`, the architecture), and a manifest with checksums. Atomic.
 */
export async function saveModel(dir: string, model: TrainableModel, options: SaveModelOptions): Promise<void> {
  checkOptions(saveModelOptionsSchema, options, `saveModel options for ${dir}`);
  const precision = options.precision ?? 'int8';
  const onnxBytes = exportOnnx(model, { precision });
  const config: EncoderConfigInput = {
    name: options.name,
    description: options.description,
    pooling: 'none',
    normalize: true,
    output: SENTENCE_OUTPUT,
    tokenOutput: TOKEN_OUTPUT,
    maxLength: options.maxLength ?? 512,
    addSpecialTokens: false,
    queryPrefix: '',
    documentPrefix: '',
    matryoshkaDims: options.matryoshkaDims,
    model: model.config,
    training: { precision, ...options.training },
  };
  await saveIndexDir(
    dir,
    { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, meta: { type: model.config.type, dim: model.dim } },
    async (tmp) => {
      await writeFile(join(tmp, 'model.onnx'), onnxBytes);
      await writeFile(join(tmp, ENCODER_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
      await copyFile(join(options.tokenizerDir, 'tokenizer.json'), join(tmp, 'tokenizer.json'));
      if (existsSync(join(options.tokenizerDir, 'tokenizer_config.json'))) await copyFile(join(options.tokenizerDir, 'tokenizer_config.json'), join(tmp, 'tokenizer_config.json'));
    },
    { overwrite: options.overwrite === true },
  );
}

export type OwnEncoder = StaticEncoder | ContextualEncoder;

export interface LoadOwnModelOptions {
  /**
   * Threads for a static model (default 1). With more, `encode` calls of 256+ texts are
   * split between the calling thread and worker threads, each holding its own copy of
   * the model (runs from the built package; from TypeScript sources it stays at 1).
   */
  threads?: number;
}

/** Loads one of Quarry's own model folders into the TypeScript runtime (weights read from model.onnx). */
export async function loadOwnModel(dir: string): Promise<OwnEncoder>;
export async function loadOwnModel(dir: string, options: LoadOwnModelOptions): Promise<OwnEncoder | ParallelStaticEncoder>;
export async function loadOwnModel(dir: string, options: LoadOwnModelOptions = {}): Promise<OwnEncoder | ParallelStaticEncoder> {
  checkOptions(loadOwnModelOptionsSchema, options, `loadOwnModel options for ${dir}`);
  const folder = await openModelFolder(dir);
  const cfg = folder.config.model;
  if (!cfg) throw new ModelInvalidError(join(dir, ENCODER_CONFIG_FILE), 'has no "model" section; this is not one of Quarry\'s own models (load it with OnnxEncoder).');
  const model = importOnnx(await readFile(folder.modelFile), cfg, folder.modelFile);
  const tokenizer = TextTokenizer.fromDir(dir);
  if (tokenizer.vocabSize !== cfg.vocabSize) throw new ModelInvalidError(join(dir, 'tokenizer.json'), `has ${tokenizer.vocabSize} tokens; the model was trained over ${cfg.vocabSize}.`);
  const encoderOptions = {
    normalize: folder.config.normalize,
    maxLength: folder.config.maxLength,
    addSpecialTokens: folder.config.addSpecialTokens,
    queryPrefix: folder.config.queryPrefix,
    documentPrefix: folder.config.documentPrefix,
  };
  if (model instanceof ContextualModel) return new ContextualEncoder(model, tokenizer, encoderOptions);
  model.prepare();
  const local = new StaticEncoder(model, tokenizer, encoderOptions);
  return options.threads !== undefined && options.threads > 1 ? ParallelStaticEncoder.start(dir, local, options.threads) : local;
}

export interface LoadEncoderOptions extends OnnxEncoderOptions {
  // `threads`: onnxruntime intra-op threads for ONNX models; worker threads for Quarry's static models (default 1).
  /**
   * `auto` (default): Quarry's static models run in TypeScript (WebAssembly SIMD pooling,
   * the fastest path), model2vec folders through the model2vec loader, everything else —
   * contextual models included — through onnxruntime. `onnx` forces onnxruntime.
   */
  runtime?: 'auto' | 'onnx';
}

/** An encoder of either kind, ready for `encode` (text vectors) and `encodeTokens` (token vectors). */
export type LoadedEncoder = Encoder & Partial<TokenEncoder> & { readonly dim: number };

/**
 * Loads any supported model folder: Quarry's own (quarry-encoder.json with a "model"
 * section), a model2vec folder (model.safetensors + config.json, no model.onnx), or an
 * ONNX export (model.onnx + tokenizer.json [+ quarry-encoder.json]).
 */
export async function loadEncoder(dir: string, options: LoadEncoderOptions = {}): Promise<LoadedEncoder> {
  checkOptions(loadEncoderOptionsSchema, options, `loadEncoder options for ${dir}`);
  const { runtime = 'auto', ...onnxOptions } = options;
  if (!existsSync(dir)) throw new ModelInvalidError(dir, 'model folder not found.');
  const hasOnnx = existsSync(join(dir, 'model.onnx')) || existsSync(join(dir, 'onnx', 'model.onnx'));
  if (!hasOnnx && existsSync(join(dir, 'model.safetensors'))) return loadModel2Vec(dir);
  if (runtime === 'auto' && existsSync(join(dir, ENCODER_CONFIG_FILE))) {
    const configFile = join(dir, ENCODER_CONFIG_FILE);
    let raw: { model?: { type?: unknown } } | null;
    try {
      raw = JSON.parse(readFileSync(configFile, 'utf8')) as { model?: { type?: unknown } } | null;
    } catch (error) {
      throw new ModelInvalidError(configFile, `is not valid JSON (${(error as Error).message}).`);
    }
    if (raw?.model?.type === 'static') return loadOwnModel(dir, { threads: onnxOptions.threads ?? 1 });
  }
  const model = await OnnxModel.load(dir, onnxOptions);
  const encoder = await OnnxEncoder.fromModel(model);
  let tokens: OnnxTokenEncoder | undefined;
  try {
    tokens = await OnnxTokenEncoder.fromModel(model);
  } catch {
    tokens = undefined;
  }
  return Object.assign(encoder, tokens ? { encodeTokens: tokens.encodeTokens.bind(tokens) } : {});
}
