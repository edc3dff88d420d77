export { OPERATORS, BENCHMARK_TEMPLATES, TRAINING_TEMPLATES, compose, asClause, templateById, type BoolOperator, type Segment, type Template } from './compose.js';
export { PHRASING_FAMILIES, AUGMENTATIONS, familiesOf, familyById, renderFamily, augment, cueTokenMask, type PhrasingFamily, type Augmentation } from './families.js';
export { LEXICON_FEATURES, NOT_WORDS, AND_WORDS, OR_WORDS, CONTRAST_WORDS, lexiconFeatures } from './lexicon.js';
export { scoreExplanations, readGoldExplanations, type GoldExplanation, type ExplanationScores, type PrCounts } from './explain-eval.js';
export { buildBooleanBenchmark, readBoolQueries, type BoolQuery, type BoolQueryMeta, type BuildBenchmarkOptions, type BenchmarkStats } from './benchmark.js';
export { BoolModules, CUE_CLASSES, sigmoid, type BoolModulesConfig, type ModulesForward, type TokenLabels } from './modules.js';
export { BoolQueryEncoder, type BaseEncoder, type BoolExplanation, type CueExplanation } from './encoder.js';
export { BoolRetriever } from './retriever.js';
export {
  BoolModelError,
  DEFAULT_BOOL_MODEL,
  bundledBoolModelDir,
  loadBoolEncoder,
  loadBoolModules,
  saveBoolModel,
  baseChecksum,
  type BoolModelMeta,
  type LoadBoolEncoderOptions,
} from './model-file.js';
export { trainBoolModules, retrievalLoss, type TrainBoolOptions, type TrainBoolResult } from './train.js';
export { boolPlugin, type BoolPluginOptions } from './plugin.js';
export { boolPluginSchema, boolFromDocsOptionsSchema, boolLoadOptionsSchema, loadBoolEncoderOptionsSchema, trainBoolOptionsSchema, buildBenchmarkOptionsSchema } from './options.js';
