import { z } from '@quarry/core';

const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', `must be a function (${what})`);
const nonNegativeInt = z.number().int().nonnegative().optional();

/**
 * `new OpenAIClient(options)`: strict, so a misspelled option (`{ baseURL: ... }`) is a
 * ConfigError naming the closest valid key (`baseUrl`) instead of silently calling the
 * default endpoint.
 */
export const openAIClientOptionsSchema = z.strictObject({
  baseUrl: z.string().optional(),
  baseUrlFrom: z.enum(['code', 'config']).optional(),
  model: z.string().optional(),
  apiKey: z.string().optional(),
  env: z.record(z.string(), z.string().optional()).optional(),
  timeoutMs: nonNegativeInt,
  retries: nonNegativeInt,
  initialBackoffMs: nonNegativeInt,
  maxBackoffMs: nonNegativeInt,
  maxRetryAfterMs: nonNegativeInt,
  concurrency: z.number().int().positive().optional(),
  cacheDir: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  random: fn<() => number>('() => number').optional(),
  fetch: fn<typeof globalThis.fetch>('a fetch implementation').optional(),
  onRetry: fn<(event: unknown) => void>('(event) => void').optional(),
});

/** Sampling defaults of `OpenAIGenerator` (the subset of the request it sends). */
export const samplingParamsSchema = z.strictObject({
  n: z.number().int().positive().optional(),
  temperature: z.number().optional(),
  topP: z.number().optional(),
  maxTokens: z.number().int().positive().optional(),
  stop: z.array(z.string()).optional(),
  seed: z.number().int().optional(),
  logitBias: z.record(z.string(), z.number()).optional(),
  presencePenalty: z.number().optional(),
  frequencyPenalty: z.number().optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
});

/** `new OpenAIGenerator(client, options)`. */
export const openAIGeneratorOptionsSchema = z.strictObject({
  api: z.enum(['chat', 'completions']).optional(),
  system: z.string().optional(),
  defaults: samplingParamsSchema.optional(),
});
