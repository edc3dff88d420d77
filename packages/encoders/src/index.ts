export { ModelInvalidError } from './errors.js';
export { TextTokenizer, type TextTokenizerOptions, type TokenizeOptions } from './tokenizer.js';
export { readSafetensors, writeSafetensors, tensorToFloat32, tensorToInt32, type SafetensorsDtype, type SafetensorsTensor, type WritableTensor } from './safetensors.js';
export { halfToFloat, floatToHalf, halfArrayToFloat32 } from './half.js';
export {
  SparseRows,
  mappingFromKeptIds,
  type EmbeddingModel,
  type TrainableModel,
  type Param,
  type OwnModelConfig,
  type StaticModelConfig,
  type ContextualModelConfig,
  type TrainCache,
} from './model.js';
export { StaticModel } from './static-model.js';
export { ContextualModel, gelu, geluGrad } from './contextual-model.js';
export { ModelEncoder, StaticEncoder, ContextualEncoder, type ModelEncoderOptions } from './static-encoder.js';
export { loadModel2Vec } from './model2vec.js';
export {
  GraphBuilder,
  DataType,
  exposeGraphOutput,
  findNodeOutputConsuming,
  toExternalData,
  readInitializers,
  decodeModel,
  encodeModel,
  type DataTypeCode,
  type InitializerTensor,
} from './onnx-graph.js';
export { exportOnnx, importOnnx, quantizeRows, SENTENCE_OUTPUT, TOKEN_OUTPUT, type WeightPrecision } from './export-onnx.js';
export {
  ENCODER_CONFIG_FILE,
  encoderConfigSchema,
  onnxEncoderOptionsSchema,
  loadEncoderOptionsSchema,
  loadOwnModelOptionsSchema,
  openModelFolder,
  type EncoderConfig,
  type EncoderConfigInput,
  type ModelFolder,
} from './model-folder.js';
export { OnnxModel, OnnxEncoder, OnnxTokenEncoder, poolInto, type OnnxEncoderOptions, type OutputInfo, type BatchResult } from './onnx-encoder.js';
export {
  readStandardFolder,
  findOnnxFile,
  applyDense,
  POOLING_MODES,
  POOLED_MODES,
  type PoolingMode,
  type PooledMode,
  type PoolingSetting,
  type DenseLayer,
  type DenseActivation,
  type StandardFolderSettings,
} from './st-folder.js';
export { rustLowercase, isBertCjk } from './tokenizer-parity.js';
export { saveModel, loadOwnModel, loadEncoder, type SaveModelOptions, type LoadEncoderOptions, type LoadedEncoder, type LoadOwnModelOptions, type OwnEncoder } from './own-model.js';
export { ParallelStaticEncoder, defaultWorkerScript } from './parallel.js';
export { matryoshkaInfoNce, type ContrastiveBatch, type MatryoshkaInfoNceOptions, type LossResult } from './losses.js';
export { Adam, type AdamOptions, type AdamState } from './adam.js';
export { ppmiSvd, jacobiEigen, type PpmiSvdOptions } from './ppmi.js';
export { readTrainingExamples, shuffledEpoch, type TrainingExample } from './training-data.js';
export { trainEncoderOptionsSchema } from './train-options.js';
export { trainEncoder, trainStep, bundledTokenizerDir, type TrainEncoderOptions, type TrainProgress, type TrainResult } from './trainer.js';
export { densePlugin, MatryoshkaEncoder, bundledModelDir, DEFAULT_MODEL, type DensePluginOptions } from './plugin.js';
export * from './transformer/index.js';
export * from './pairs/index.js';
