import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelInvalidError } from './errors.js';
import { readSafetensors, tensorToFloat32, tensorToInt32 } from './safetensors.js';
import { StaticEncoder, type ModelEncoderOptions } from './static-encoder.js';
import { StaticModel } from './static-model.js';
import { TextTokenizer } from './tokenizer.js';

/**
 * Loads a model2vec static model from a local folder: `model.safetensors` with
 * `embeddings` [rows, dim] and, for vocabulary-quantised models, `mapping` [vocab]
 * (token id -> row) and `weights` [vocab] (per-token weight); `tokenizer.json`;
 * `config.json` (`normalize`). The rule (as in model2vec):
 *
 *   vector(text) = normalize( mean over tokens t of embeddings[mapping[t]] * weights[t] )
 *
 * with tokens from the tokenizer without special tokens and with the unknown token
 * dropped, at most `maxLength` (512) tokens.
 */
export function loadModel2Vec(dir: string, options: ModelEncoderOptions = {}): StaticEncoder {
  const file = join(dir, 'model.safetensors');
  if (!existsSync(file)) throw new ModelInvalidError(file, 'missing; a model2vec folder holds model.safetensors, tokenizer.json and config.json.');
  const tokenizer = TextTokenizer.fromDir(dir);
  let normalize = options.normalize;
  const configFile = join(dir, 'config.json');
  if (normalize === undefined && existsSync(configFile)) {
    try {
      const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as { normalize?: unknown };
      if (typeof cfg.normalize === 'boolean') normalize = cfg.normalize;
    } catch (error) {
      throw new ModelInvalidError(configFile, `is not valid JSON (${(error as Error).message}).`);
    }
  }
  const { tensors } = readSafetensors(file);
  const embT = tensors.get('embeddings') ?? tensors.get('0');
  if (!embT) throw new ModelInvalidError(file, `has no "embeddings" tensor (tensors: ${[...tensors.keys()].join(', ')}).`, { tensor: 'embeddings' });
  if (embT.shape.length !== 2) throw new ModelInvalidError(file, `tensor "embeddings" has shape [${embT.shape.join(', ')}]; expected [rows, dim].`, { tensor: 'embeddings' });
  const [rows, dim] = embT.shape as [number, number];
  // readSafetensors ties rows*dim to the bytes present; an empty side ([rows, 0]) would let
  // `rows` alone size the per-row arrays below, so both must be at least 1.
  if (rows < 1 || dim < 1) throw new ModelInvalidError(file, `tensor "embeddings" has shape [${rows}, ${dim}]; expected at least one row and one dimension.`, { tensor: 'embeddings' });
  const embeddings = tensorToFloat32(embT);
  const vocabSize = tokenizer.vocabSize;
  let mapping: Int32Array;
  const mapT = tensors.get('mapping');
  if (mapT) {
    mapping = tensorToInt32(mapT, file);
    if (mapping.length !== vocabSize) throw new ModelInvalidError(file, `tensor "mapping" has ${mapping.length} entries; tokenizer.json has ${vocabSize} tokens.`, { tensor: 'mapping' });
    for (const r of mapping) if (r < 0 || r >= rows) throw new ModelInvalidError(file, `tensor "mapping" points at row ${r}; "embeddings" has ${rows} rows.`, { tensor: 'mapping' });
  } else {
    if (rows < vocabSize) throw new ModelInvalidError(file, `tensor "embeddings" has ${rows} rows but tokenizer.json has ${vocabSize} tokens (and there is no "mapping").`, { tensor: 'embeddings' });
    mapping = Int32Array.from({ length: vocabSize }, (_, i) => i);
  }
  const wT = tensors.get('weights');
  const tokenWeights = wT ? tensorToFloat32(wT) : undefined;
  if (tokenWeights && tokenWeights.length !== vocabSize)
    throw new ModelInvalidError(file, `tensor "weights" has ${tokenWeights.length} entries; expected one per token (${vocabSize}).`, { tensor: 'weights' });
  const model = new StaticModel({ type: 'static', dim, rows, vocabSize, learnWeights: false }, mapping, embeddings, undefined, tokenWeights);
  model.prepare();
  return new StaticEncoder(model, tokenizer, { maxLength: 512, addSpecialTokens: false, dropUnknown: true, ...options, normalize: normalize ?? true });
}
