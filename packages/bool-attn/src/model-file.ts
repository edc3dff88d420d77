import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuarryError, bytesOf, checkOptions, openIndexDir, readTyped, saveIndexDir, sha256 } from '@quarry/core';
import { loadBoolEncoderOptionsSchema } from './options.js';
import { bundledModelDir, loadOwnModel, type ModelEncoder } from '@quarry/encoders';
import { BoolQueryEncoder, type BaseEncoder } from './encoder.js';
import { BoolModules, type BoolModulesConfig } from './modules.js';

const FORMAT = 'quarry-bool-attn';
const VERSION = 1;

/** The Boolean modules shipped with this package (trained on the SciFact Boolean benchmark). */
export const DEFAULT_BOOL_MODEL = 'scifact-bool';

/** A Boolean-module folder problem: names the folder and says what to do. */
export class BoolModelError extends QuarryError {
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super('MODEL_INVALID', `${dir}: ${message}`, { dir });
  }
}

export interface BoolModelMeta {
  config: BoolModulesConfig;
  /** The base encoder the modules were trained on: a bundled @quarry/encoders model name. */
  base: string;
  /** sha256 of the base encoder's model.onnx at training time. */
  baseSha256: string;
  maxQueryLength: number;
  tensors: { name: string; shape: number[] }[];
  parameters: number;
  training?: Record<string, unknown>;
}

/** Folder of a Boolean model shipped with this package (models/<name>). */
export function bundledBoolModelDir(name = DEFAULT_BOOL_MODEL): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', 'models', name), join(here, '..', '..', 'models', name)]) if (existsSync(join(candidate, 'weights.f32'))) return candidate;
  throw new BoolModelError(join(here, '..', 'models', name), `the bundled Boolean model "${name}" was not found; train it with \`npm run train -w @quarry/bool-attn\` or pass a model folder.`);
}

export async function baseChecksum(baseDir: string): Promise<string> {
  return sha256(await readFile(join(baseDir, 'model.onnx')));
}

/** Writes the modules (weights.f32, all tensors in order, float32 little-endian) atomically with a manifest. */
export async function saveBoolModel(dir: string, modules: BoolModules, meta: Omit<BoolModelMeta, 'config' | 'tensors' | 'parameters'>): Promise<void> {
  const params = modules.params();
  const total = modules.size;
  const flat = new Float32Array(total);
  let off = 0;
  for (const p of params) {
    flat.set(p.value, off);
    off += p.value.length;
  }
  const full: BoolModelMeta = { ...meta, config: modules.config, tensors: params.map((p) => ({ name: p.name, shape: p.shape })), parameters: total };
  await saveIndexDir(dir, { format: FORMAT, version: VERSION, meta: full as unknown as Record<string, unknown> }, async (tmp) => {
    await writeFile(join(tmp, 'weights.f32'), bytesOf(flat));
  });
}

export async function loadBoolModules(dir: string): Promise<{ modules: BoolModules; meta: BoolModelMeta }> {
  const manifest = await openIndexDir(dir, FORMAT, [VERSION]);
  const meta = manifest.meta as unknown as BoolModelMeta;
  const flat = readTyped(await readFile(join(dir, 'weights.f32')), Float32Array, join(dir, 'weights.f32'));
  const values: Record<string, Float32Array> = {};
  let off = 0;
  for (const t of meta.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    values[t.name] = flat.slice(off, off + size);
    off += size;
  }
  if (off !== flat.length) throw new BoolModelError(dir, `weights.f32 holds ${flat.length} floats, the manifest lists ${off}; the folder is damaged, retrain or restore it.`);
  try {
    return { modules: new BoolModules(meta.config, values), meta };
  } catch (error) {
    // Config and weights that disagree are a damaged model folder, not a caller's bad input.
    if (error instanceof QuarryError && error.code === 'INPUT_INVALID') throw new BoolModelError(dir, `${error.message} Retrain or restore the folder.`);
    throw error;
  }
}

export interface LoadBoolEncoderOptions {
  /** Base encoder folder (default: the bundled model named in the Boolean model's manifest). */
  encoder?: string;
  /** Accept a base encoder whose model.onnx differs from the one the modules were trained on. */
  allowOtherBase?: boolean;
  /** Inference fast path: skip cue positions whose gated weight is below this (default 0 = exact). */
  prune?: number;
}

/** Loads Boolean modules and their base encoder into a `BoolQueryEncoder`. */
export async function loadBoolEncoder(dir: string = bundledBoolModelDir(), options: LoadBoolEncoderOptions = {}): Promise<BoolQueryEncoder> {
  checkOptions(loadBoolEncoderOptionsSchema, options, 'loadBoolEncoder options');
  const { modules, meta } = await loadBoolModules(dir);
  const baseDir = options.encoder ?? bundledModelDir(meta.base);
  const sum = await baseChecksum(baseDir);
  if (sum !== meta.baseSha256 && !options.allowOtherBase) {
    throw new BoolModelError(
      dir,
      `was trained on the base encoder "${meta.base}" (model.onnx sha256 ${meta.baseSha256.slice(0, 12)}…), but ${baseDir} has ${sum.slice(0, 12)}…; retrain the modules on this encoder or pass allowOtherBase.`,
    );
  }
  const base = (await loadOwnModel(baseDir)) as ModelEncoder as BaseEncoder;
  return new BoolQueryEncoder(base, modules, { maxQueryLength: meta.maxQueryLength, ...(options.prune !== undefined ? { prune: options.prune } : {}) });
}
