import { AbortError, ConfigError, checkOptions, throwIfAborted } from '@quarry/core';
import { openAIClientOptionsSchema } from './options.js';
import { GenerationCache, cacheKey } from './cache.js';
import { endpointUrl, redactText, redactUrl, resolveEndpointConfig, type BaseUrlSource } from './config.js';
import { LlmRequestError, type LlmFailure } from './errors.js';
import { Semaphore } from './semaphore.js';
import type { CallOptions, ChatRequest, Choice, CompletionRequest, CompletionResult, SamplingParams, TokenLogprob, TokenUsage, UsageStats } from './types.js';

export interface OpenAIClientOptions {
  /**
   * Base URL of the API, e.g. `http://127.0.0.1:8080/v1`; default `QUARRY_LLM_URL`, `OPENAI_BASE_URL`, then api.openai.com.
   * `user:password@` in it is sent as HTTP Basic auth (when there is no API key); a query string stays after the path.
   */
  baseUrl?: string;
  /**
   * Where `baseUrl` came from: 'code' (default; code or a command-line flag) or 'config' (a pipeline file or
   * an index manifest). A 'config' URL gets the environment's API key only when it is the endpoint the
   * environment names (`QUARRY_LLM_URL` / `OPENAI_BASE_URL`); otherwise no Authorization header is sent.
   */
  baseUrlFrom?: BaseUrlSource;
  /** Model name; default `QUARRY_LLM_MODEL` / `OPENAI_MODEL`. Local servers often accept any name. */
  model?: string;
  /** Bearer token; default `QUARRY_LLM_API_KEY` / `OPENAI_API_KEY`. Never logged, never part of a cache key. */
  apiKey?: string;
  /** Environment to read defaults from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Per-attempt timeout in ms, response body included (default 120000). */
  timeoutMs?: number;
  /** Retries after the first attempt on 408/409/429/5xx, network errors, timeouts and malformed responses (default 4). */
  retries?: number;
  /** First backoff in ms; doubles per retry, with jitter in [d/2, d] (default 500). */
  initialBackoffMs?: number;
  /** Backoff ceiling in ms (default 30000). */
  maxBackoffMs?: number;
  /** Ceiling on a server's Retry-After in ms (default 120000). */
  maxRetryAfterMs?: number;
  /** Requests in flight at once (default 4). Cache hits do not take a slot. */
  concurrency?: number;
  /** Folder of the on-disk generation cache; absent = no cache. */
  cacheDir?: string;
  /** Extra HTTP headers (e.g. `OpenAI-Organization`). */
  headers?: Readonly<Record<string, string>>;
  /** Source of jitter in [0, 1) (default Math.random). */
  random?: () => number;
  /** The fetch implementation (default the global one). */
  fetch?: typeof globalThis.fetch;
  /** Told about every retry before its wait (for logs and progress); never sees the API key. */
  onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  endpoint: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  failure: LlmFailure;
  status?: number;
  reason: string;
  /** How long the client waits before the next attempt: Retry-After when the server sent one, else backoff with jitter. */
  delayMs: number;
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429]);

function emptyUsage(): UsageStats {
  return { calls: 0, requests: 0, cacheHits: 0, retries: 0, failures: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0 };
}

/**
 * A client for OpenAI-compatible servers (OpenAI, vLLM, llama.cpp server, Ollama,
 * LM Studio...): chat and text completions with timeouts, retries with exponential
 * backoff and jitter (honouring Retry-After), bounded concurrency, an on-disk cache
 * keyed by endpoint + model + request, cancellation and usage accounting.
 */
export class OpenAIClient {
  /** The base URL without credentials or query string (safe to show). */
  readonly baseUrl: string;
  readonly model: string | undefined;
  /** The base URL requests go to: credentials removed (sent as a header), query string kept. */
  readonly #url: string;
  readonly #apiKey: string | undefined;
  readonly #basicAuth: string | undefined;
  readonly #envKeyWithheld: boolean;
  /** Values scrubbed from every message and retry event. */
  readonly #secrets: string[];
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #random: () => number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #semaphore: Semaphore;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly cache: GenerationCache | undefined;
  #usage: UsageStats = emptyUsage();

  constructor(options: OpenAIClientOptions = {}) {
    checkOptions(openAIClientOptionsSchema, options, 'OpenAIClient options');
    const cfg = resolveEndpointConfig(options, options.env ?? process.env);
    const url = new URL(cfg.baseUrl);
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    this.#url = url.toString().replace(/\/+$/, '');
    this.baseUrl = redactUrl(cfg.baseUrl);
    this.model = cfg.model;
    this.#apiKey = cfg.apiKey;
    this.#basicAuth = user || password ? Buffer.from(`${user}:${password}`).toString('base64') : undefined;
    this.#envKeyWithheld = cfg.envKeyWithheld;
    this.#secrets = [cfg.apiKey, password, user && password ? user : undefined, this.#basicAuth, ...[...url.searchParams.values()]].filter((s): s is string => !!s && s.length >= 4);
    const nonNegative = (name: string, value: number | undefined, fallback: number, integer = false): number => {
      const v = value ?? fallback;
      if (!Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v)))
        throw new ConfigError(`LLM client option ${name} must be a ${integer ? 'non-negative integer' : 'non-negative number'}, got ${String(value)}.`);
      return v;
    };
    this.#timeoutMs = nonNegative('timeoutMs', options.timeoutMs, 120_000);
    if (this.#timeoutMs === 0) throw new ConfigError('LLM client option timeoutMs must be > 0.');
    this.#retries = nonNegative('retries', options.retries, 4, true);
    this.#initialBackoffMs = nonNegative('initialBackoffMs', options.initialBackoffMs, 500);
    this.#maxBackoffMs = nonNegative('maxBackoffMs', options.maxBackoffMs, 30_000);
    this.#maxRetryAfterMs = nonNegative('maxRetryAfterMs', options.maxRetryAfterMs, 120_000);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`LLM client option concurrency must be an integer >= 1, got ${concurrency}.`);
    this.#semaphore = new Semaphore(concurrency);
    this.#headers = options.headers ?? {};
    this.#random = options.random ?? Math.random;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#onRetry = options.onRetry;
    this.cache = options.cacheDir ? new GenerationCache(options.cacheDir) : undefined;
  }

  /** Whether an API key is configured (the key itself is not readable). */
  get hasApiKey(): boolean {
    return this.#apiKey !== undefined;
  }

  /** A copy of the running totals. */
  usage(): UsageStats {
    return { ...this.#usage };
  }

  resetUsage(): void {
    this.#usage = emptyUsage();
  }

  /** POST /chat/completions. */
  async chat(request: ChatRequest, options: CallOptions = {}): Promise<CompletionResult> {
    const model = this.#modelFor(request.model);
    const body: Record<string, unknown> = {
      model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      ...samplingBody(request),
      logprobs: request.logprobs,
      top_logprobs: request.topLogprobs,
    };
    return this.#call('chat/completions', model, body, options, parseChatChoice);
  }

  /** POST /completions (raw text prompt; `echo` + `logprobs` score a prompt's tokens). */
  async complete(request: CompletionRequest, options: CallOptions = {}): Promise<CompletionResult> {
    const model = this.#modelFor(request.model);
    const body: Record<string, unknown> = {
      model,
      prompt: request.prompt,
      ...samplingBody(request),
      logprobs: request.logprobs,
      echo: request.echo,
    };
    return this.#call('completions', model, body, options, parseCompletionChoice);
  }

  #modelFor(model: string | undefined): string {
    const m = model ?? this.model;
    if (!m) throw new ConfigError('No LLM model is configured: pass a model (--llm-model) or set QUARRY_LLM_MODEL.');
    return m;
  }

  async #call(path: string, model: string, rawBody: Record<string, unknown>, options: CallOptions, parseChoice: (c: unknown, i: number) => Choice | undefined): Promise<CompletionResult> {
    const body = dropUndefined(rawBody);
    const url = endpointUrl(this.#url, path).toString();
    const endpoint = redactUrl(url);
    const { signal } = options;
    throwIfAborted(signal, 'LLM request');
    this.#usage.calls++;
    const useCache = this.cache !== undefined && !options.noCache;
    const key = useCache ? cacheKey({ endpoint, model, body, ...(options.cacheSalt !== undefined ? { salt: options.cacheSalt } : {}) }) : '';
    if (useCache) {
      const hit = await this.cache!.get(key);
      if (hit !== undefined) {
        const parsed = parseResponse(hit, parseChoice);
        if (parsed) {
          this.#usage.cacheHits++;
          return { ...parsed, cached: true, raw: hit };
        }
      }
    }
    const release = await this.#semaphore.acquire(signal);
    try {
      const json = await this.#send(url, endpoint, body, signal, parseChoice);
      const parsed = parseResponse(json, parseChoice)!;
      this.#usage.promptTokens += parsed.usage.promptTokens;
      this.#usage.completionTokens += parsed.usage.completionTokens;
      this.#usage.totalTokens += parsed.usage.totalTokens;
      if (useCache) await this.cache!.set(key, json, { endpoint, model });
      return { ...parsed, cached: false, raw: json };
    } finally {
      release();
    }
  }

  /** Sends with retries; returns the parsed JSON of a well-formed response. */
  async #send(url: string, endpoint: string, body: Record<string, unknown>, signal: AbortSignal | undefined, parseChoice: (c: unknown, i: number) => Choice | undefined): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...this.#headers };
    if (this.#apiKey) headers['authorization'] = `Bearer ${this.#apiKey}`;
    else if (this.#basicAuth) headers['authorization'] = `Basic ${this.#basicAuth}`;
    const payload = JSON.stringify(body);
    const attempts = this.#retries + 1;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal, 'LLM request');
      this.#usage.requests++;
      const outcome = await this.#attempt(url, headers, payload, signal);
      let failure: { kind: LlmFailure; reason: string; status?: number; retryable: boolean; retryAfterMs?: number; cause?: unknown };
      if (outcome.kind === 'response') {
        const { status, statusText, text, retryAfterMs } = outcome;
        if (status >= 200 && status < 300) {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch (error) {
            json = undefined;
            failure = { kind: 'malformed', reason: `HTTP ${status} with a body that is not JSON (${snippet(text)})`, status, retryable: true, cause: error };
          }
          if (json !== undefined) {
            if (parseResponse(json, parseChoice)) return json;
            failure = { kind: 'malformed', reason: `HTTP ${status} with JSON that is not an OpenAI completion (no usable "choices"): ${snippet(text)}`, status, retryable: true };
          }
        } else {
          const retryable = status >= 500 || RETRYABLE_STATUS.has(status);
          failure = { kind: 'http', reason: `HTTP ${status}${statusText ? ` ${statusText}` : ''}: ${serverMessage(text)}`, status, retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
        }
      } else if (outcome.kind === 'timeout') {
        failure = { kind: 'timeout', reason: `no complete response within ${this.#timeoutMs} ms`, retryable: true };
      } else {
        failure = { kind: 'network', reason: `network error: ${outcome.message}`, retryable: true, cause: outcome.cause };
      }
      failure!.reason = redactText(failure!.reason, this.#secrets);
      if (!failure!.retryable || attempt >= attempts) {
        this.#usage.failures++;
        throw new LlmRequestError(endpoint, failure!.kind, attempt, failure!.reason, failure!.status, { cause: failure!.cause, envKeyWithheld: this.#envKeyWithheld });
      }
      this.#usage.retries++;
      const backoff = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + this.#random() * (backoff / 2);
      const delay = failure!.retryAfterMs !== undefined ? Math.min(this.#maxRetryAfterMs, failure!.retryAfterMs) : jittered;
      this.#onRetry?.({ endpoint, attempt, failure: failure!.kind, ...(failure!.status !== undefined ? { status: failure!.status } : {}), reason: failure!.reason, delayMs: delay });
      await sleep(delay, signal);
    }
  }

  async #attempt(
    url: string,
    headers: Record<string, string>,
    payload: string,
    signal: AbortSignal | undefined,
  ): Promise<{ kind: 'response'; status: number; statusText: string; text: string; retryAfterMs: number | undefined } | { kind: 'timeout' } | { kind: 'network'; message: string; cause: unknown }> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.#fetch(url, { method: 'POST', headers, body: payload, signal: controller.signal });
      const text = await response.text();
      return { kind: 'response', status: response.status, statusText: response.statusText, text, retryAfterMs: parseRetryAfter(response.headers) };
    } catch (error) {
      if (signal?.aborted) throw new AbortError('LLM request');
      if (timedOut) return { kind: 'timeout' };
      return { kind: 'network', message: describeNetworkError(error), cause: error };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function samplingBody(p: SamplingParams): Record<string, unknown> {
  return {
    n: p.n,
    temperature: p.temperature,
    top_p: p.topP,
    max_tokens: p.maxTokens,
    stop: p.stop?.length ? p.stop : undefined,
    seed: p.seed,
    logit_bias: p.logitBias,
    presence_penalty: p.presencePenalty,
    frequency_penalty: p.frequencyPenalty,
    ...(p.extra ?? {}),
  };
}

function dropUndefined(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

/** Retry-After (seconds or an HTTP date) or OpenAI's retry-after-ms, in ms. */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function snippet(text: string, max = 200): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (t === '') return 'empty body';
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

/** The server's error message (`{"error":{"message"}}` in OpenAI's shape), else a snippet of the body. */
function serverMessage(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message);
    if (typeof m === 'string' && m.trim() !== '') return snippet(m);
  } catch {
    // not JSON: fall through
  }
  return snippet(text);
}

function describeNetworkError(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause ? `${e.cause.code ? `${e.cause.code} ` : ''}${e.cause.message ?? ''}`.trim() : '';
  return cause ? `${e.message ?? 'fetch failed'} (${cause})` : (e.message ?? String(error));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('LLM request'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError('LLM request'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseUsage(v: unknown): TokenUsage {
  const u = isObject(v) ? v : {};
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const promptTokens = num(u['prompt_tokens']);
  const completionTokens = num(u['completion_tokens']);
  return { promptTokens, completionTokens, totalTokens: num(u['total_tokens']) || promptTokens + completionTokens };
}

/** A validated response, or undefined when it is not an OpenAI completion. */
function parseResponse(json: unknown, parseChoice: (c: unknown, i: number) => Choice | undefined): Omit<CompletionResult, 'cached' | 'raw'> | undefined {
  if (!isObject(json) || !Array.isArray(json['choices'])) return undefined;
  const choices: Choice[] = [];
  for (const [i, c] of (json['choices'] as unknown[]).entries()) {
    const choice = parseChoice(c, i);
    if (!choice) return undefined;
    choices.push(choice);
  }
  choices.sort((a, b) => a.index - b.index);
  return { model: typeof json['model'] === 'string' ? json['model'] : '', choices, usage: parseUsage(json['usage']) };
}

function finish(c: Record<string, unknown>): string | null {
  return typeof c['finish_reason'] === 'string' ? c['finish_reason'] : null;
}

function indexOf(c: Record<string, unknown>, i: number): number {
  return typeof c['index'] === 'number' ? c['index'] : i;
}

function parseTop(v: unknown): { token: string; logprob: number }[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).map((t) => ({ token: String(t['token'] ?? ''), logprob: Number(t['logprob']) }));
}

/** Chat choice: `message.content`; logprobs in `logprobs.content[]`. */
function parseChatChoice(c: unknown, i: number): Choice | undefined {
  if (!isObject(c) || !isObject(c['message'])) return undefined;
  const content = c['message']['content'];
  if (content !== null && content !== undefined && typeof content !== 'string') return undefined;
  const choice: Choice = { index: indexOf(c, i), text: content ?? '', finishReason: finish(c) };
  const lp = c['logprobs'];
  if (isObject(lp) && Array.isArray(lp['content'])) {
    choice.logprobs = (lp['content'] as unknown[]).filter(isObject).map((t) => {
      const entry: TokenLogprob = { token: String(t['token'] ?? ''), logprob: typeof t['logprob'] === 'number' ? t['logprob'] : null, top: parseTop(t['top_logprobs']) };
      if (Array.isArray(t['bytes'])) entry.bytes = t['bytes'] as number[];
      return entry;
    });
  }
  return choice;
}

/** Completion choice: `text`; logprobs as parallel arrays `tokens`, `token_logprobs`, `top_logprobs` (maps), `text_offset`. */
function parseCompletionChoice(c: unknown, i: number): Choice | undefined {
  if (!isObject(c) || typeof c['text'] !== 'string') return undefined;
  const choice: Choice = { index: indexOf(c, i), text: c['text'], finishReason: finish(c) };
  const lp = c['logprobs'];
  if (isObject(lp) && Array.isArray(lp['tokens'])) {
    const tokens = lp['tokens'] as unknown[];
    const logprobs = Array.isArray(lp['token_logprobs']) ? (lp['token_logprobs'] as unknown[]) : [];
    const tops = Array.isArray(lp['top_logprobs']) ? (lp['top_logprobs'] as unknown[]) : [];
    const offsets = Array.isArray(lp['text_offset']) ? (lp['text_offset'] as unknown[]) : [];
    choice.logprobs = tokens.map((token, t) => {
      const top = tops[t];
      const entry: TokenLogprob = {
        token: String(token),
        logprob: typeof logprobs[t] === 'number' ? (logprobs[t] as number) : null,
        top: isObject(top)
          ? Object.entries(top)
              .map(([tok, p]) => ({ token: tok, logprob: Number(p) }))
              .sort((a, b) => b.logprob - a.logprob)
          : [],
      };
      if (typeof offsets[t] === 'number') entry.offset = offsets[t] as number;
      return entry;
    });
  }
  return choice;
}
