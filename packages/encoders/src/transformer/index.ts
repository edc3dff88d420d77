export { buildEncoderGraphs, denseParamShapes, LAYER_PARAMS, type Precision, type TransformerSize, type BuiltGraphs } from './graph.js';
export {
  TransformerModel,
  TransformerRuntime,
  accumulateGradients,
  padBatch,
  weightsOf,
  DEFAULT_SIZE,
  BERT_SPECIAL_IDS,
  type TransformerConfig,
  type TransformerInitOptions,
  type TransformerWeights,
  type IdBatch,
  type ForwardResult,
  type Upstream,
  type Gradients,
} from './model.js';
export { buildInferenceGraph, saveTransformerFolder, LAST_HIDDEN_STATE, type SaveTransformerOptions } from './export.js';
export { trainTransformer, stepFlops, curveSvg, type TokenLossResult, type TrainTransformerOptions, type TrainTransformerResult, type TransformerTrainProgress, type TrainingSource } from './train.js';
