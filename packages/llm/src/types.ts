import type { ChatMessage } from '@quarry/core';

/** Parameters shared by chat and text completions (OpenAI names, camelCased). */
export interface SamplingParams {
  /** Samples per prompt (servers that ignore it return one; see `OpenAIGenerator`). */
  n?: number;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  /** Token id (as a string, as OpenAI sends it) -> bias in [-100, 100]. */
  logitBias?: Record<string, number>;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Any further body fields the server understands (e.g. llama.cpp `n_probs`, vLLM `top_k`). Sent as given. */
  extra?: Record<string, unknown>;
}

export interface ChatRequest extends SamplingParams {
  messages: readonly ChatMessage[];
  /** Model override for this request (default: the client's model). */
  model?: string;
  /** Ask for the log-probability of each sampled token. */
  logprobs?: boolean;
  /** With `logprobs`: the k most likely alternatives at each position (0..20). */
  topLogprobs?: number;
}

export interface CompletionRequest extends SamplingParams {
  prompt: string;
  model?: string;
  /** The k most likely tokens at each position, with their log-probabilities (OpenAI allows 0..5). */
  logprobs?: number;
  /** Return the prompt in the completion, with its logprobs when `logprobs` is set (prompt scoring). */
  echo?: boolean;
}

/** Per-request controls that are not part of the request body. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Skip the on-disk cache for this call (neither read nor written). */
  noCache?: boolean;
  /**
   * Distinguishes otherwise identical requests in the cache (e.g. the i-th of several
   * one-sample requests to a server that ignores `n`). Not sent to the server.
   */
  cacheSalt?: string;
}

/** One alternative at a position. */
export interface TopLogprob {
  token: string;
  logprob: number;
}

/** One generated (or echoed) token; `logprob` is null where the server gives none (the first echoed token). */
export interface TokenLogprob {
  token: string;
  logprob: number | null;
  top: TopLogprob[];
  /** UTF-8 bytes of the token when the server gives them (chat API). */
  bytes?: number[];
  /** Character offset of the token in the returned text (completions API). */
  offset?: number;
}

export interface Choice {
  index: number;
  text: string;
  finishReason: string | null;
  /** Present when logprobs were asked for and the server returned them. */
  logprobs?: TokenLogprob[];
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface CompletionResult {
  /** The model the server says it used. */
  model: string;
  choices: Choice[];
  /** Token counts reported by the server (zeros when it reports none). */
  usage: TokenUsage;
  /** True when this result came from the on-disk cache (no request was sent). */
  cached: boolean;
  /** The server's JSON response as received. */
  raw: unknown;
}

/** Running totals of a client; `snapshot()` returns a copy. */
export interface UsageStats {
  /** Logical calls (chat/complete), cache hits included. */
  calls: number;
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Calls answered from the on-disk cache. */
  cacheHits: number;
  /** Requests that were retried after a 429/5xx/network/timeout/malformed-response failure. */
  retries: number;
  /** Calls that failed after retries (or at once, for a non-retryable error). */
  failures: number;
  /** Tokens reported by the server for requests actually sent (cache hits cost nothing). */
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}
