export { maxSim, maxSimAlignment } from './maxsim.js';
export { truncateTokens, sliceItem } from './matryoshka.js';
export { ColbertReranker, type ColbertRerankerOptions } from './reranker.js';
export {
  DocTokenStore,
  TOKEN_PRECISIONS,
  TOKEN_STORE_FORMAT,
  TOKEN_STORE_VERSION,
  bytesPerToken,
  type TokenPrecision,
  type TokenSource,
  type TokenStoreMeta,
  type TokenStoreBuildOptions,
} from './token-store.js';
export { colbertPlugin, colbertRetrieverPlugin } from './plugin.js';
export {
  colbertRerankerPluginSchema,
  colbertRetrieverPluginSchema,
  colbertIndexOptionsSchema,
  colbertFromIndexOptionsSchema,
  colbertRerankerOptionsSchema,
  DEFAULT_STORAGE,
  maxSimKernelOptionsSchema,
  trainTokenModelOptionsSchema,
} from './options.js';
export { loadTokenEncoder, checkTrainedDim, bundledColbertModelDir, DEFAULT_TOKEN_MODEL, type LoadedTokenEncoder } from './token-encoder.js';
export { MaxSimKernel, type MaxSimKernelOptions } from './maxsim-kernel.js';
export { Gemm } from './gemm.js';
export { sphericalKMeans, colbertCentroidCount, type KMeansOptions } from './kmeans.js';
export { ResidualCodec, checkNbits, type ResidualBits } from './residual-codec.js';
export { PlaidIndex, PLAID_FORMAT, PLAID_VERSION, type PlaidIndexMeta, type PlaidTrainOptions, type PlaidSearchOptions, type PlaidHit } from './plaid-index.js';
export { ColbertRetriever, type ColbertIndexOptions, type ColbertSearchOptions } from './retriever.js';
export { OnnxColbertEncoder, readColbertConfig, COLBERT_CONFIG_FILE, type ColbertModelConfig, type ColbertInput } from './onnx-colbert.js';
export { maxSimInfoNce, maxSimInfoNceSync, type MaxSimBatch, type MaxSimLossOptions, type MaxSimLossResult } from './train/maxsim-loss.js';
export { trainTokenModel, type TokenTrainingExample, type TrainTokenModelOptions, type TrainTokenModelResult } from './train/train-token-model.js';
export { tokenMatches, type TokenMatch, type TokenStrings } from './explain.js';
