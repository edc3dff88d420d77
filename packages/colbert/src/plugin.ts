import { definePlugin, QuarryError, z, type TokenEncoder } from '@quarry/core';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { ColbertReranker } from './reranker.js';

const schema = z
  .object({
    encoder: z.string().min(1).optional().describe('token encoder folder (ONNX ColBERT export or a Quarry model); default: the bundled scifact-static model'),
    dim: z.number().int().positive().optional().describe('Matryoshka token dimension'),
    cacheSize: z.number().int().positive().default(50_000).describe('documents whose token vectors stay cached'),
  })
  .strict();

/** The `colbert` reranker: exact MaxSim over a token encoder's vectors for the pipeline's top candidates. */
export const colbertPlugin = definePlugin({
  kind: 'reranker',
  name: 'colbert',
  description: 'Late-interaction (MaxSim) reranking with a token encoder folder (default: the bundled own static model); Matryoshka dim.',
  schema,
  async create(options: z.output<typeof schema>) {
    const dir = options.encoder ?? bundledModelDir();
    const encoder = await loadEncoder(dir, { threads: 1 });
    if (typeof encoder.encodeTokens !== 'function') {
      throw new QuarryError('MODEL_INVALID', `${dir}: this model gives no token vectors (its graph has no rank-3 output); ColBERT needs a token encoder.`, { dir });
    }
    return new ColbertReranker(encoder as TokenEncoder & typeof encoder, { ...(options.dim !== undefined ? { dim: options.dim } : {}), cacheSize: options.cacheSize });
  },
  cliOptions: [{ flag: 'colbert-dim', option: 'dim', type: 'number', description: 'ColBERT Matryoshka token dimension' }],
});
