export { OpenAIClient, parseRetryAfter, type OpenAIClientOptions, type RetryEvent } from './client.js';
export { OpenAIGenerator, type OpenAIGeneratorOptions } from './generator.js';
export { openAIClientOptionsSchema, openAIGeneratorOptionsSchema, samplingParamsSchema } from './options.js';
export { GenerationCache, cacheKey, canonicalJson, type CacheKeyParts } from './cache.js';
export { DEFAULT_BASE_URL, LLM_ENV, endpointUrl, redactText, redactUrl, resolveEndpointConfig, sameEndpoint, trustEndpoint, type BaseUrlSource, type LlmEndpointConfig } from './config.js';
export { LlmRequestError, type LlmFailure } from './errors.js';
export { Semaphore } from './semaphore.js';
export type { CallOptions, ChatRequest, Choice, CompletionRequest, CompletionResult, SamplingParams, TokenLogprob, TopLogprob, TokenUsage, UsageStats } from './types.js';
export { FakeOpenAIServer, type Fault, type FakeServerOptions, type RecordedRequest, type ReplyFunction } from './testing/fake-server.js';
