import { QuarryError } from '@quarry/core';

/**
 * A model folder or model file that cannot be used. The message names the file (and
 * the input/output/tensor name where relevant) and says what was expected.
 */
export class ModelInvalidError extends QuarryError {
  constructor(
    readonly file: string,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super('MODEL_INVALID', `${file}: ${message}`, { file, ...details }, options);
  }
}
