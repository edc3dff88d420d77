import { ConfigError, redactText } from '@quarry/core';

// Scrubbing rules live in core (the server uses them too); re-exported as this package's API.
export { redactText };

/** Environment variables the client reads when an option is not given (first set wins). */
export const LLM_ENV = {
  baseUrl: ['QUARRY_LLM_URL', 'OPENAI_BASE_URL'],
  model: ['QUARRY_LLM_MODEL', 'OPENAI_MODEL'],
  apiKey: ['QUARRY_LLM_API_KEY', 'OPENAI_API_KEY'],
} as const;

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * Where a `baseUrl` option came from. 'code' (default): the caller named it (code, a command-line
 * flag): the environment's API key may go there. 'config': a pipeline file or an index manifest
 * named it: anyone who can edit that file chooses the URL, so the environment's key goes there
 * only when the URL is the endpoint the environment itself names.
 */
export type BaseUrlSource = 'code' | 'config';

export interface LlmEndpointConfig {
  /** Base URL of the OpenAI-compatible API, ending before `/chat/completions` (usually `.../v1`); may hold credentials. */
  baseUrl: string;
  model: string | undefined;
  apiKey: string | undefined;
  /** The environment holds an API key that was not given to this endpoint (its URL came from a config). */
  envKeyWithheld: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Endpoints the user named directly in this process (a command-line flag), beside the environment's. */
const userNamedEndpoints: string[] = [];

/**
 * Marks `url` as an endpoint the user named directly (e.g. `--llm-url` on the command line):
 * for the rest of this process, a config or index that names the same endpoint gets the
 * environment's API key, as the environment's own endpoint does. Call it only with a URL the
 * user typed, never with one read from a file.
 */
export function trustEndpoint(url: string): void {
  if (!userNamedEndpoints.some((u) => sameEndpoint(u, url))) userNamedEndpoints.push(url);
}

function fromEnv(env: Env, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/**
 * Options first, then the environment (`QUARRY_LLM_URL`, `QUARRY_LLM_MODEL`, `QUARRY_LLM_API_KEY`/`OPENAI_API_KEY`...).
 * A key from the environment is only paired with a URL from a config (`baseUrlFrom: 'config'`) when that URL is
 * the environment's own endpoint (`QUARRY_LLM_URL` / `OPENAI_BASE_URL`, else api.openai.com) or one the user named
 * directly (`trustEndpoint`, e.g. from `--llm-url`); otherwise no key is sent.
 */
export function resolveEndpointConfig(options: { baseUrl?: string; model?: string; apiKey?: string; baseUrlFrom?: BaseUrlSource }, env: Env = process.env): LlmEndpointConfig {
  const envUrl = fromEnv(env, LLM_ENV.baseUrl);
  const raw = options.baseUrl ?? envUrl ?? DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`The LLM base URL "${redactUrl(raw)}" is not a valid URL; give e.g. http://127.0.0.1:8080/v1 (--llm-url or QUARRY_LLM_URL).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`The LLM base URL must be http(s), got "${url.protocol}".`);
  const envKey = fromEnv(env, LLM_ENV.apiKey);
  const named = (u: string): boolean => sameEndpoint(u, envUrl ?? DEFAULT_BASE_URL) || userNamedEndpoints.some((t) => sameEndpoint(u, t));
  const trusted = options.baseUrl === undefined || options.baseUrlFrom !== 'config' || named(options.baseUrl);
  const apiKey = options.apiKey ?? (trusted ? envKey : undefined);
  return {
    baseUrl: raw.replace(/\/+$/, ''),
    model: options.model ?? fromEnv(env, LLM_ENV.model),
    apiKey,
    envKeyWithheld: options.apiKey === undefined && envKey !== undefined && !trusted,
  };
}

/** Same scheme, host, port and path (trailing slashes, credentials and query aside). */
export function sameEndpoint(a: string, b: string): boolean {
  const norm = (raw: string): string | undefined => {
    try {
      const u = new URL(raw);
      return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
    } catch {
      return undefined;
    }
  };
  const x = norm(a);
  return x !== undefined && x === norm(b);
}

/**
 * `base` + `/path` built with `new URL()`: the path goes after the base's path and before its
 * query string (`http://h/v1?api-version=1` + `chat/completions` = `http://h/v1/chat/completions?api-version=1`).
 */
export function endpointUrl(base: string, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return url;
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
    return raw.replace(/\/\/[^/@\s]*@/, '//').replace(/\?.*$/, '');
  }
}
