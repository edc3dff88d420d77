import { QuarryError } from '@quarry/core';

/** A model folder (tokenizer.json + model.onnx) or a server cannot serve as a next-token scorer. */
export class ScorerError extends QuarryError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('MODEL_INVALID', message, details, options);
  }
}
