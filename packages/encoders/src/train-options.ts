import { runtimeOptionsShape, z } from '@quarry/core';

const num = z.number().optional();
const int = z.number().int().optional();
const bool = z.boolean().optional();
const str = z.string().optional();

/**
 * `trainEncoder(options)`: strict, so a misspelled option (`{ epoch: 3 }`) is a ConfigError
 * naming the closest valid key (`epochs`) instead of a silent default. Ranges are checked
 * (with their meaning) by `trainEncoder` itself.
 */
export const trainEncoderOptionsSchema = z.strictObject({
  data: z.union([z.string(), z.array(z.string())]),
  out: str,
  overwrite: bool,
  tokenizer: str,
  model: z.enum(['static', 'contextual']).optional(),
  init: str,
  dim: int,
  mrlDims: z.array(z.number()).optional(),
  mrlWeights: z.array(z.number()).optional(),
  epochs: int,
  batchSize: int,
  negatives: int,
  temperature: num,
  lr: num,
  lrDense: num,
  warmup: num,
  seed: int,
  maxLength: int,
  inferenceMaxLength: int,
  learnWeights: bool,
  tfExponent: num,
  minCount: int,
  hidden: int,
  kernel: int,
  freezeEmbeddings: bool,
  shuffleBuffer: int,
  checkpointDir: str,
  checkpointEvery: int,
  maxSteps: int,
  totalSteps: int,
  precision: z.enum(['fp32', 'fp16', 'int8']).optional(),
  provenance: z.record(z.string(), z.unknown()).optional(),
  ...runtimeOptionsShape,
});
