export { suffixArray } from './sais.js';
export { WaveletMatrix, popcount32 } from './wavelet.js';
export { FmIndex, FM_INDEX_FORMAT, FM_INDEX_VERSION, type FmIndexBuildOptions, type FmRange, type Occurrence, type Successor } from './fm-index.js';
export { TokenTrie, type TrieNode } from './trie.js';
export { ScorerError } from './errors.js';
export { constrainedBeamSearch, isAllowedTokenScorer, type AllowedTokenScorer, type BeamSearchOptions, type DecodingConstraint, type Hypothesis } from './beam.js';
export { CorpusStatsScorer, type CorpusStatsScorerOptions, type TokenCodec } from './corpus-scorer.js';
export { TokenizerCodec } from './codec.js';
export {
  Llm2grIndex,
  Llm2grRetriever,
  llm2grGenerationShape,
  llm2grGenerationSchema,
  llm2grBuildOptionsSchema,
  DEFAULT_LLM2GR_OPTIONS,
  TITLE_PROMPT,
  PASSAGE_PROMPT,
  LLM2GR_FORMAT,
  LLM2GR_VERSION,
  codecFingerprint,
  type Generation,
  type Llm2grOptions,
} from './llm2gr.js';
export { OnnxCausalLm, logSoftmax, type OnnxCausalLmOptions, type OnnxCausalLmStats } from './onnx-scorer.js';
export { OpenAIScorer, type OpenAIScorerOptions } from './openai-scorer.js';
export { llm2grPlugin, type Llm2grPluginOptions } from './plugin.js';
export { ownEncoderTokenVectors, nearestTokens, type TokenVectors } from './token-similarity.js';
export { corpusStatsScorerOptionsSchema, onnxCausalLmOptionsSchema, openAIScorerOptionsSchema, fmIndexBuildOptionsSchema } from './options.js';
