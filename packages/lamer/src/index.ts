export { lamerShape, llmAnswerShape, lameROptionsSchema, llmAnswerOptionsSchema, lameRRetrieverOptionsSchema, lameRDenseBuildOptionsSchema, extractiveOptionsSchema } from './options.js';
export { LameR, LameRRetriever, LameRDenseRetriever, type LameROptions, type LameRExplain } from './lamer.js';
export { LlmAnswers, type AnswerSource, type AnswerInput, type Candidate, type LlmAnswerOptions } from './answers.js';
export { ExtractiveAnswers, splitSentences, type ExtractiveOptions } from './extractive.js';
export { LAMER_TEMPLATES, HYDE_TEMPLATES, PROMPT_DOMAINS, augmentQuery, enumerateCandidates, renderPrompt, resolveTemplate, truncateTokens, type AugmentOptions, type PromptDomain } from './prompt.js';
export {
  lamerPlugin,
  lamerRewriterPlugin,
  lamerDensePlugin,
  answerSourceFor,
  DEFAULT_SELECTOR_MODEL,
  type LamerPluginOptions,
  type LamerRewriterOptions,
  type LamerDensePluginOptions,
} from './plugin.js';
