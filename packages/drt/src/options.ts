import { z } from '@quarry/core';

// Strict schemas of drt's public options: a misspelled key (`{ lookbak: 8 }`) is a ConfigError
// naming the closest valid key instead of being silently ignored. Values keep their own checks.

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** `DrtConfig` (DrtModel, trainPasskeyModel's `config`): its keys; `validateDrtConfig` checks the values. */
export const drtConfigSchema = z.strictObject({
  vocab: positiveInt,
  dim: positiveInt,
  heads: positiveInt,
  window: positiveInt,
  chunk: positiveInt,
  overlap: nonNegativeInt,
  lookback: nonNegativeInt.optional(),
  groups: positiveInt,
  relDim: positiveInt,
  topK: positiveInt,
  relValues: nonNegativeInt,
});

/** `new ChunkMemory(options)`. */
export const chunkMemoryOptionsSchema = z.strictObject({
  chunkFloats: positiveInt,
  landmarkFloats: positiveInt,
  pageDir: z.string().optional(),
});

const answerShape = {
  gca: z.boolean().optional(),
  pageDir: z.string().optional(),
  lookback: nonNegativeInt.optional(),
};

/** `answer(model, prompt, options)`. */
export const answerOptionsSchema = z.strictObject({ ...answerShape, steps: positiveInt.optional() });

/** `evaluatePasskey(model, options)`. */
export const passkeyEvalOptionsSchema = z.strictObject({
  ...answerShape,
  length: positiveInt,
  trials: positiveInt,
  seed: z.number().int().optional(),
  firstTrial: nonNegativeInt.optional(),
  task: z
    .union([
      z.enum(['plain', 'decoys', 'digits', 'marked']),
      z.strictObject({ digitRate: z.number().min(0).max(0.5).optional(), decoys: nonNegativeInt.optional(), markedDecoys: nonNegativeInt.optional() }),
    ])
    .optional(),
  signal: z.custom<AbortSignal>((v) => v === undefined || v instanceof AbortSignal, 'must be an AbortSignal').optional(),
  onTrial: z.custom<(done: number, total: number) => void>((v) => v === undefined || typeof v === 'function', 'must be a function').optional(),
});
