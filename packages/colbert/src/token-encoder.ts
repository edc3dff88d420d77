import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuarryError, type TokenEncoder } from '@quarry/core';
import { loadEncoder, openModelFolder, TextTokenizer } from '@quarry/encoders';
import type { TokenStrings } from './explain.js';
import { COLBERT_CONFIG_FILE, OnnxColbertEncoder } from './onnx-colbert.js';

/** The bundled token model ColBERT pipelines use when no encoder folder is given. */
export const DEFAULT_TOKEN_MODEL = 'scifact-colbert';

/** Folder of a model shipped with this package (`models/<name>`). */
export function bundledColbertModelDir(name = DEFAULT_TOKEN_MODEL): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', 'models', name), join(here, '..', '..', 'models', name)]) {
    if (existsSync(join(candidate, 'model.onnx'))) return candidate;
  }
  throw new QuarryError('NOT_FOUND', `The bundled ColBERT model "${name}" was not found under models/; pass an encoder folder.`);
}

export interface LoadedTokenEncoder {
  encoder: TokenEncoder;
  /** `<folder name>@<sha256 of model.onnx, 12 hex>`: recorded in indexes so another model is caught at load. */
  label: string;
  /** Matryoshka dims the model was trained for, when it says. */
  trainedDims?: readonly number[];
  /** The token strings behind a text's vectors (for explanations). */
  tokenStrings: TokenStrings;
}

/**
 * Opens a token encoder folder: an exported ColBERT model (a folder with colbert.json,
 * artifact.metadata or config_sentence_transformers.json: markers, [MASK] padding,
 * punctuation skip) or any encoder with per-token outputs (Quarry's own models).
 */
export async function loadTokenEncoder(dir: string | undefined, options: { threads?: number } = {}): Promise<LoadedTokenEncoder> {
  const folder = dir ?? bundledColbertModelDir();
  const label = `${basename(folder)}@${(await fileSha256(modelFile(folder))).slice(0, 12)}`;
  if ([COLBERT_CONFIG_FILE, 'artifact.metadata', 'config_sentence_transformers.json'].some((f) => existsSync(join(folder, f)))) {
    const encoder = await OnnxColbertEncoder.load(folder, { threads: options.threads ?? 1 });
    return { encoder, label, tokenStrings: (text, role) => encoder.tokenStrings(text, role), ...(encoder.config.matryoshkaDims ? { trainedDims: encoder.config.matryoshkaDims } : {}) };
  }
  const encoder = await loadEncoder(folder, { threads: options.threads ?? 1 });
  if (typeof encoder.encodeTokens !== 'function') {
    throw new QuarryError('MODEL_INVALID', `${folder}: this model gives no token vectors (its graph has no rank-3 output); ColBERT needs a token encoder.`, { dir: folder });
  }
  const trainedDims = readTrainedDims(folder);
  // Own models give one vector per tokenizer token (no special tokens), as the folder's config says.
  const folderConfig = (await openModelFolder(folder)).config;
  const tokenizer = TextTokenizer.fromDir(folder);
  const tokenStrings: TokenStrings = (text) =>
    Array.from(tokenizer.encode(text, { maxLength: folderConfig.maxLength, addSpecialTokens: folderConfig.addSpecialTokens }), (id) => tokenizer.idToToken(id) ?? `#${id}`);
  return { encoder: encoder as TokenEncoder & typeof encoder, label, tokenStrings, ...(trainedDims ? { trainedDims } : {}) };
}

/** `matryoshkaDims` from a Quarry model folder's quarry-encoder.json, if it lists them. */
function readTrainedDims(dir: string): number[] | undefined {
  const file = join(dir, 'quarry-encoder.json');
  if (!existsSync(file)) return undefined;
  const dims = (JSON.parse(readFileSync(file, 'utf8')) as { matryoshkaDims?: unknown }).matryoshkaDims;
  return Array.isArray(dims) && dims.every((d) => Number.isInteger(d)) ? (dims as number[]) : undefined;
}

function modelFile(dir: string): string {
  const plain = join(dir, 'model.onnx');
  if (existsSync(plain)) return plain;
  const nested = join(dir, 'onnx', 'model.onnx');
  if (existsSync(nested)) return nested;
  throw new QuarryError('MODEL_INVALID', `${dir}: no model.onnx (or onnx/model.onnx); point --encoder at an exported token encoder folder.`, { dir });
}

function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Rejects a Matryoshka dim the model was not trained for (when the model lists its dims). */
export function checkTrainedDim(dim: number, full: number, trained: readonly number[] | undefined, label: string): void {
  if (dim > full || dim < 1 || !Number.isInteger(dim)) throw new QuarryError('CONFIG_INVALID', `dim ${dim} is not available: ${label} gives ${full}-d token vectors (Matryoshka dims are 1..${full}).`);
  if (trained && dim !== full && !trained.includes(dim)) {
    throw new QuarryError('CONFIG_INVALID', `dim ${dim} is not one the model was trained for: ${label} supports ${[...new Set([...trained, full])].sort((a, b) => a - b).join(', ')}.`);
  }
}
