export * from './types.js';
export * from './errors.js';
export { MemoryDocStore, docText, isBlankDoc } from './doc-store.js';
export { TopK } from './top-k.js';
export {
  FUSION_FEATURES,
  adaptiveRankFusion,
  fusionFeatures,
  reciprocalRankFusion,
  weightedScoreFusion,
  type AdaptiveFusionOptions,
  type AdaptiveFusionTrace,
  type FusionFeature,
  type FusionFeatures,
  type ScoreNormalization,
  type TrustModel,
} from './fusion.js';
export { evaluate, evaluateQuery, parseMetric, trecEvalOrder, type EvaluationResult, type MetricName, type Qrels, type Run } from './metrics.js';
export { readLines, readJsonLines, type ReadLinesOptions } from './lines.js';
export { openBeirDataset, readCorpus, readQueries, readQrels, loadSplit, type BeirDataset, type ReadCorpusOptions } from './beir.js';
export { formatTrecRun, readTrecRun } from './trec.js';
export { redactText } from './redact.js';
export {
  MANIFEST_FILE,
  assertWritableIndexDir,
  bytesOf,
  openIndexDir,
  readTyped,
  readTypedFile,
  safeJoin,
  saveIndexDir,
  sha256,
  writeFileAtomic,
  type IndexManifest,
  type OpenIndexOptions,
  type SaveIndexOptions,
} from './persist.js';
export { checkOptions, closestMatch, formatConfigPath, parseConfig, runtimeOptionsShape, z, type ConfigSource } from './schema.js';
export {
  PluginRegistry,
  definePlugin,
  type Persistable,
  type Plugin,
  type PluginCliOption,
  type PluginContext,
  type PluginKind,
  type RerankerPlugin,
  type RetrieverPlugin,
  type RewriterPlugin,
} from './registry.js';
export { Pipeline, fusionSchema, parsePipelineConfig, pipelineConfigSchema, type PipelineConfig, type PipelineConfigInput, type PipelineLoadHooks } from './pipeline.js';
export { SeededRandom, hashString } from './random.js';
