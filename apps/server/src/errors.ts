import { QuarryError, type QuarryErrorCode } from '@quarry/core';

/** Stable error codes of the HTTP API (the `error.code` field of every error body). */
export type ApiErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'BUDGET_EXCEEDED'
  | 'HOST_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'BODY_TIMEOUT'
  | 'HEADERS_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'BAD_HTTP'
  | 'UNKNOWN_PIPELINE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'OVERLOADED'
  | 'TIMEOUT'
  | 'UPSTREAM_FAILED'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

const CORE_CODE: Record<ApiErrorCode, QuarryErrorCode> = {
  INVALID_JSON: 'INPUT_INVALID',
  INVALID_REQUEST: 'INPUT_INVALID',
  BUDGET_EXCEEDED: 'INPUT_INVALID',
  HOST_NOT_ALLOWED: 'INPUT_INVALID',
  UNSUPPORTED_MEDIA_TYPE: 'INPUT_INVALID',
  BODY_TOO_LARGE: 'INPUT_INVALID',
  BODY_TIMEOUT: 'INPUT_INVALID',
  HEADERS_TIMEOUT: 'INPUT_INVALID',
  HEADERS_TOO_LARGE: 'INPUT_INVALID',
  BAD_HTTP: 'INPUT_INVALID',
  UNKNOWN_PIPELINE: 'NOT_FOUND',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'NOT_FOUND',
  OVERLOADED: 'UPSTREAM_FAILED',
  TIMEOUT: 'ABORTED',
  UPSTREAM_FAILED: 'UPSTREAM_FAILED',
  SHUTTING_DOWN: 'UPSTREAM_FAILED',
  INTERNAL: 'UPSTREAM_FAILED',
};

/** Which server limit a request went past: its name under `server.limits`, the most allowed, and what the request asked for. */
export interface LimitExceeded {
  name: string;
  max: number;
  asked: number;
}

/** A failure answered with an HTTP status and a JSON body `{statusCode, error: {code, message, issues?, limit?}}`. */
export class HttpError extends QuarryError {
  constructor(
    readonly status: number,
    readonly apiCode: ApiErrorCode,
    message: string,
    readonly issues?: readonly { path: string; message: string }[],
    readonly headers: Readonly<Record<string, string>> = {},
    readonly limit?: LimitExceeded,
  ) {
    super(CORE_CODE[apiCode], message, { status, apiCode, ...(limit ? { limit } : {}) });
  }
}
