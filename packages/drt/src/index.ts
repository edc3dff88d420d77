export {
  attendHead,
  attendHeadBackward,
  gcaBackward,
  gcaForward,
  retrieve,
  topK,
  validateGcaConfig,
  type ChunkKV,
  type GcaCache,
  type GcaConfig,
  type GcaForwardOptions,
  type GcaGrads,
  type GcaInput,
  type GcaRetrieval,
} from './gca.js';
export { ChunkMemory, type ChunkMemoryOptions } from './memory.js';
export { DEFAULT_DRT_CONFIG, DrtModel, paramCount, paramLayout, validateDrtConfig, type DrtConfig, type SequenceResult } from './model.js';
export {
  DIGITS,
  FIRST_FILLER,
  KEY_DIGITS,
  KEY_SPAN,
  KEY_TOKEN,
  PASSKEY_TASKS,
  PASSKEY_VOCAB,
  QUERY_TOKEN,
  TRAINED_DISTRACTORS,
  WRONG_KEY_TOKEN,
  crossesBoundary,
  passkeyExample,
  passkeyTrial,
  resolvePasskeyTask,
  type PasskeyDistractors,
  type PasskeyExample,
  type PasskeyExampleOptions,
  type PasskeyTaskName,
} from './passkey.js';
export { answer, evaluatePasskey, type AnswerOptions, type AnswerResult, type PasskeyEvalOptions, type PasskeyEvalResult } from './runner.js';
export {
  WEIGHTS_FORMAT,
  WEIGHTS_VERSION,
  bundledWeightsPath,
  curriculumChunks,
  loadDrtWeights,
  saveDrtWeights,
  trainOptionsSchema,
  trainPasskeyModel,
  type DrtTrainOptions,
  type ResolvedTrainOptions,
  type TrainProgress,
  type TrainResult,
} from './train.js';
export { drtConfigSchema, chunkMemoryOptionsSchema, answerOptionsSchema, passkeyEvalOptionsSchema } from './options.js';
