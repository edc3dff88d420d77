import { ConfigError } from '@quarry/core';

/** Environment variables the client reads when an option is not given (first set wins). */
export const LLM_ENV = {
  baseUrl: ['QUARRY_LLM_URL', 'OPENAI_BASE_URL'],
  model: ['QUARRY_LLM_MODEL', 'OPENAI_MODEL'],
  apiKey: ['QUARRY_LLM_API_KEY', 'OPENAI_API_KEY'],
} as const;

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export interface LlmEndpointConfig {
  /** Base URL of the OpenAI-compatible API, ending before `/chat/completions` (usually `.../v1`). */
  baseUrl: string;
  model: string | undefined;
  apiKey: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

function fromEnv(env: Env, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/** Options first, then the environment (`QUARRY_LLM_URL`, `QUARRY_LLM_MODEL`, `QUARRY_LLM_API_KEY`/`OPENAI_API_KEY`...). */
export function resolveEndpointConfig(options: { baseUrl?: string; model?: string; apiKey?: string }, env: Env = process.env): LlmEndpointConfig {
  const raw = options.baseUrl ?? fromEnv(env, LLM_ENV.baseUrl) ?? DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`The LLM base URL "${redactUrl(raw)}" is not a valid URL; give e.g. http://127.0.0.1:8080/v1 (--llm-url or QUARRY_LLM_URL).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`The LLM base URL must be http(s), got "${url.protocol}".`);
  return {
    baseUrl: raw.replace(/\/+$/, ''),
    model: options.model ?? fromEnv(env, LLM_ENV.model),
    apiKey: options.apiKey ?? fromEnv(env, LLM_ENV.apiKey),
  };
}

/** The URL with any user:password and query string removed, for messages and cache keys. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return raw.replace(/\/\/[^/@]*@/, '//').replace(/\?.*$/, '');
  }
}
