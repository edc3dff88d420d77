import { redactText } from '@quarry/core';

/** Option keys whose values are never shown by GET /pipelines (API keys and the like). */
const SECRET_KEY = /(api[-_]?key|secret|password|passwd|authorization|bearer|credential|access[-_]?token|auth[-_]?token)/i;

/** A value that is a URL with a scheme (`http://`, `postgres://`...): its credentials and query values are secrets too. */
const URL_VALUE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A pipeline config as GET /pipelines shows it: values of secret-named keys replaced by
 * `[redacted]`, and inside every URL-valued string the `user:password@` and the query values
 * (`?api-key=...`), which key names alone do not catch.
 */
export function redactConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactConfig);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== undefined && v !== null ? '[redacted]' : redactConfig(v)]));
  }
  if (typeof value === 'string' && URL_VALUE.test(value)) return redactUrlValue(value);
  return value;
}

function redactUrlValue(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return redactText(raw);
  }
  if (url.username || url.password) {
    url.username = 'redacted';
    url.password = '';
  }
  for (const key of [...new Set(url.searchParams.keys())]) url.searchParams.set(key, 'redacted');
  return url
    .toString()
    .replace('redacted@', '[redacted]@')
    .replace(/=redacted/g, '=[redacted]');
}

/** An error as the log shows it: type, code, message, details and cause, every string scrubbed by `redactText`. */
export function redactError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: redactText(String(error)) };
  const e = error as Error & { code?: unknown; details?: unknown; cause?: unknown };
  return {
    type: e.name,
    ...(e.code !== undefined ? { code: e.code } : {}),
    message: redactText(e.message),
    ...(e.details !== undefined ? { details: scrubStrings(e.details) } : {}),
    ...(e.stack ? { stack: redactText(e.stack) } : {}),
    ...(e.cause !== undefined && depth < 3 ? { cause: redactError(e.cause, depth + 1) } : {}),
  };
}

function scrubStrings(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(scrubStrings);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : scrubStrings(v)]));
  return value;
}
