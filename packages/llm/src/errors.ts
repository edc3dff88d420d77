import { QuarryError } from '@quarry/core';

/** How a request to the LLM server failed. */
export type LlmFailure = 'http' | 'timeout' | 'network' | 'malformed';

/**
 * An LLM request that failed after its retries (or at once, for a non-retryable status).
 * The message names the endpoint (never the API key) and the last failure; `details`
 * holds `endpoint`, `status`, `attempts` and `failure`.
 */
export class LlmRequestError extends QuarryError {
  constructor(
    readonly endpoint: string,
    readonly failure: LlmFailure,
    readonly attempts: number,
    reason: string,
    readonly status?: number,
    options?: { cause?: unknown; envKeyWithheld?: boolean },
  ) {
    const hint =
      failure === 'http' && (status === 401 || status === 403) && options?.envKeyWithheld
        ? ' No API key was sent: the key in the environment goes only to the endpoint the environment names (QUARRY_LLM_URL / OPENAI_BASE_URL), and this URL came from a pipeline config or an index. Set QUARRY_LLM_URL to this URL to send it there.'
        : failure === 'http' && (status === 401 || status === 403)
          ? ' Check the API key (OPENAI_API_KEY or QUARRY_LLM_API_KEY).'
          : failure === 'http' && status === 404
            ? ' Check the base URL (it usually ends in /v1) and the model name.'
            : failure === 'network' || failure === 'timeout'
              ? ' Check that the server is running and reachable at that URL (--llm-url / QUARRY_LLM_URL), or raise the timeout.'
              : '';
    super(
      'UPSTREAM_FAILED',
      `POST ${endpoint} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}.${hint}`,
      { endpoint, status, attempts, failure },
      options?.cause !== undefined ? { cause: options.cause } : undefined,
    );
  }
}
