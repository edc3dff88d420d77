import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuarryError } from '@quarry/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer, GenerationCache, LlmRequestError, OpenAIClient, OpenAIGenerator, parseRetryAfter, type OpenAIClientOptions, type RetryEvent } from '../src/index.js';

let server: FakeOpenAIServer;
let dir: string;
const SECRET = 'sk-test-SECRET-0123456789';

beforeAll(async () => {
  server = await FakeOpenAIServer.start({ apiKey: SECRET });
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'quarry-llm-'));
  server.requests.length = 0;
  server.maxInFlight = 0;
});
afterEach(async () => {
  expect(server.pendingFaults).toBe(0);
  await server.idle();
  await rm(dir, { recursive: true, force: true });
});

/** Small timeouts and backoffs so the fault tests run in milliseconds. */
function client(options: OpenAIClientOptions = {}): OpenAIClient {
  return new OpenAIClient({ baseUrl: server.url, model: 'fake-model', apiKey: SECRET, timeoutMs: 2000, retries: 3, initialBackoffMs: 5, maxBackoffMs: 20, env: {}, ...options });
}

describe('OpenAIClient requests', () => {
  it('sends a chat completion with every sampling parameter in OpenAI form and parses n choices', async () => {
    const c = client();
    const result = await c.chat({
      messages: [{ role: 'user', content: 'What is BM25?' }],
      n: 3,
      temperature: 0.7,
      topP: 0.9,
      maxTokens: 64,
      stop: ['\n\n'],
      seed: 42,
      logitBias: { '50256': -100 },
      extra: { top_k: 40 },
    });
    expect(result.choices.map((c) => c.text)).toEqual([0, 1, 2].map((i) => `answer ${i} to: What is BM25?`));
    expect(result.cached).toBe(false);
    const req = server.requests[0]!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers['authorization']).toBe(`Bearer ${SECRET}`);
    expect(req.body).toEqual({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'What is BM25?' }],
      n: 3,
      temperature: 0.7,
      top_p: 0.9,
      max_tokens: 64,
      stop: ['\n\n'],
      seed: 42,
      logit_bias: { '50256': -100 },
      top_k: 40,
    });
    expect(result.usage).toEqual({ promptTokens: 3, completionTokens: 18, totalTokens: 21 });
    expect(c.usage()).toMatchObject({ calls: 1, requests: 1, cacheHits: 0, retries: 0, failures: 0, promptTokens: 3, completionTokens: 18, totalTokens: 21 });
  });

  it('parses chat logprobs with top_logprobs', async () => {
    const result = await client().chat({ messages: [{ role: 'user', content: 'q' }], logprobs: true, topLogprobs: 2, maxTokens: 8 });
    expect(server.requests[0]!.body).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const lp = result.choices[0]!.logprobs!;
    expect(lp.map((t) => t.token).join('')).toBe(result.choices[0]!.text);
    expect(lp[0]).toEqual({
      token: 'answer',
      logprob: -0.5,
      bytes: [...Buffer.from('answer')],
      top: [
        { token: 'answer', logprob: -0.5 },
        { token: 'answer#1', logprob: -1.5 },
      ],
    });
  });

  it('sends text completions with echo + logprobs and normalises the logprob arrays', async () => {
    const result = await client().complete({ prompt: 'The cat sat', maxTokens: 0, echo: true, logprobs: 2, logitBias: { '7': 5 } });
    expect(server.requests[0]!.path).toBe('/v1/completions');
    expect(server.requests[0]!.body).toEqual({ model: 'fake-model', prompt: 'The cat sat', max_tokens: 0, echo: true, logprobs: 2, logit_bias: { '7': 5 } });
    const lp = result.choices[0]!.logprobs!;
    expect(lp.map((t) => t.token)).toEqual(['The', ' cat', ' sat']);
    expect(lp[0]).toEqual({ token: 'The', logprob: null, top: [], offset: 0 });
    expect(lp[2]).toEqual({
      token: ' sat',
      logprob: -1.2,
      top: [
        { token: ' sat', logprob: -1.2 },
        { token: ' sat#1', logprob: -2.2 },
      ],
      offset: 7,
    });
  });

  it('reads the URL, model and key from the environment; the key never shows in errors', async () => {
    const c = new OpenAIClient({ env: { QUARRY_LLM_URL: `${server.url}/`, QUARRY_LLM_MODEL: 'env-model', OPENAI_API_KEY: SECRET }, retries: 0 });
    expect(c.baseUrl).toBe(server.url);
    expect(c.hasApiKey).toBe(true);
    await c.chat({ messages: [{ role: 'user', content: 'x' }] });
    expect(server.requests[0]!.body['model']).toBe('env-model');
    const wrong = new OpenAIClient({ env: { QUARRY_LLM_URL: server.url, QUARRY_LLM_MODEL: 'm', OPENAI_API_KEY: 'sk-wrong-key' }, retries: 3 });
    const error = await wrong.chat({ messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmRequestError);
    expect((error as LlmRequestError).message).toBe(
      `POST ${server.url}/chat/completions failed after 1 attempt: HTTP 401 Unauthorized: Incorrect API key provided.. Check the API key (OPENAI_API_KEY or QUARRY_LLM_API_KEY).`,
    );
    expect(JSON.stringify((error as LlmRequestError).details)).not.toContain('sk-wrong-key');
    expect(String((error as Error).stack)).not.toContain('sk-wrong-key');
  });

  it('refuses to run without a model and rejects a bad URL, naming the flag to fix', async () => {
    const c = new OpenAIClient({ baseUrl: server.url, env: {} });
    await expect(c.chat({ messages: [{ role: 'user', content: 'x' }] })).rejects.toThrow(/--llm-model/);
    expect(() => new OpenAIClient({ baseUrl: 'not a url', env: {} })).toThrow(/QUARRY_LLM_URL/);
    expect(() => new OpenAIClient({ baseUrl: 'http://user:pw@nowhere', env: {}, concurrency: 0 })).toThrow(/concurrency/);
  });
});

describe('OpenAIClient faults', () => {
  it('honours Retry-After (seconds and retry-after-ms) on 429 and succeeds', async () => {
    const events: RetryEvent[] = [];
    // A backoff of a minute would time the test out: the waits come from the headers.
    const c = client({ initialBackoffMs: 60_000, maxBackoffMs: 60_000, onRetry: (e) => events.push(e) });
    server.fail({ kind: 'status', status: 429, retryAfter: '0.05' }, { kind: 'status', status: 429, retryAfterMs: '30', retryAfter: '100' });
    const result = await c.chat({ messages: [{ role: 'user', content: 'q' }] });
    expect(result.choices).toHaveLength(1);
    expect(events.map((e) => [e.attempt, e.status, e.delayMs])).toEqual([
      [1, 429, 50],
      [2, 429, 30],
    ]);
    expect(c.usage()).toMatchObject({ calls: 1, requests: 3, retries: 2, failures: 0 });
  });

  it('caps Retry-After and reads HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:02 GMT' }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers({}), now)).toBeUndefined();
  });

  it('backs off exponentially with jitter in [d/2, d], capped', async () => {
    const events: RetryEvent[] = [];
    const c = client({ retries: 4, initialBackoffMs: 4, maxBackoffMs: 16, random: () => 0.5, onRetry: (e) => events.push(e) });
    server.fail(...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 503 })));
    await c.chat({ messages: [{ role: 'user', content: 'q' }] });
    expect(events.map((e) => e.delayMs)).toEqual([3, 6, 12, 12]);
  });

  it('retries 500s and fails with the endpoint, the status and the attempt count', async () => {
    const c = client({ retries: 2 });
    server.fail({ kind: 'status', status: 500 }, { kind: 'status', status: 502, body: '<html>Bad gateway</html>' }, { kind: 'status', status: 500 });
    const error = (await c.chat({ messages: [{ role: 'user', content: 'q' }] }).catch((e: unknown) => e)) as LlmRequestError;
    expect(error).toBeInstanceOf(QuarryError);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.message).toBe(`POST ${server.url}/chat/completions failed after 3 attempts: HTTP 500 Internal Server Error: injected 500.`);
    expect(error.details).toEqual({ endpoint: `${server.url}/chat/completions`, status: 500, attempts: 3, failure: 'http' });
    expect(c.usage()).toMatchObject({ calls: 1, requests: 3, retries: 2, failures: 1 });
  });

  it('does not retry a 400', async () => {
    const c = client();
    server.fail({ kind: 'status', status: 400, body: JSON.stringify({ error: { message: "'n' must be <= 128" } }) });
    await expect(c.chat({ messages: [{ role: 'user', content: 'q' }] })).rejects.toThrow("failed after 1 attempt: HTTP 400 Bad Request: 'n' must be <= 128.");
    expect(server.requests).toHaveLength(1);
  });

  it('retries malformed JSON and a body that is not a completion, then names the failure', async () => {
    const c = client({ retries: 1 });
    server.fail({ kind: 'malformed' });
    expect((await c.complete({ prompt: 'p', maxTokens: 2 })).choices[0]!.text).toBe('answer 0');
    server.fail({ kind: 'malformed' }, { kind: 'malformed', body: '{"object":"list"}' });
    const error = (await c.complete({ prompt: 'p' }).catch((e: unknown) => e)) as LlmRequestError;
    expect(error.failure).toBe('malformed');
    expect(error.message).toBe(`POST ${server.url}/completions failed after 2 attempts: HTTP 200 with JSON that is not an OpenAI completion (no usable "choices"): {"object":"list"}.`);
  });

  it('retries dropped connections, then reports a network error', async () => {
    const c = client({ retries: 1 });
    server.fail({ kind: 'drop' });
    expect((await c.chat({ messages: [{ role: 'user', content: 'q' }] })).choices).toHaveLength(1);
    server.fail({ kind: 'drop' }, { kind: 'drop' });
    const error = (await c.chat({ messages: [{ role: 'user', content: 'q' }] }).catch((e: unknown) => e)) as LlmRequestError;
    expect(error.failure).toBe('network');
    expect(error.message).toMatch(
      new RegExp(`^POST ${server.url.replace(/\./g, '\\.')}/chat/completions failed after 2 attempts: network error: fetch failed \\(.+\\)\\. Check that the server is running`),
    );
  });

  it('times out slow responses per attempt and retries them', async () => {
    const c = client({ timeoutMs: 100, retries: 1 });
    server.fail({ kind: 'slow', delayMs: 400 });
    expect((await c.chat({ messages: [{ role: 'user', content: 'q' }] })).choices).toHaveLength(1);
    server.fail({ kind: 'slow', delayMs: 400 }, { kind: 'slow', delayMs: 400 });
    const error = (await c.chat({ messages: [{ role: 'user', content: 'q' }] }).catch((e: unknown) => e)) as LlmRequestError;
    expect(error.failure).toBe('timeout');
    expect(error.message).toContain('failed after 2 attempts: no complete response within 100 ms.');
  });

  it('stops at once when the caller aborts, during a request or a backoff', async () => {
    const c = client({ initialBackoffMs: 10_000, maxBackoffMs: 10_000 });
    server.fail({ kind: 'slow', delayMs: 300 });
    const controller = new AbortController();
    const pending = c.chat({ messages: [{ role: 'user', content: 'q' }] }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    server.fail({ kind: 'status', status: 503 });
    const c2 = new AbortController();
    const during = c.chat({ messages: [{ role: 'user', content: 'q' }] }, { signal: c2.signal });
    setTimeout(() => c2.abort(), 50);
    await expect(during).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('concurrency and cache', () => {
  it('keeps at most `concurrency` requests in flight', async () => {
    const c = client({ concurrency: 2 });
    server.fail(...Array.from({ length: 6 }, () => ({ kind: 'slow' as const, delayMs: 40 })));
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => c.chat({ messages: [{ role: 'user', content: `q${i}` }] })));
    expect(results.map((r) => r.choices[0]!.text)).toEqual(Array.from({ length: 6 }, (_, i) => `answer 0 to: q${i}`));
    expect(server.maxInFlight).toBe(2);
  });

  it('answers a repeated request from disk, keyed without the API key, and survives a damaged entry', async () => {
    const c = client({ cacheDir: dir });
    const req = { messages: [{ role: 'user' as const, content: 'cache me' }], n: 2, temperature: 1 };
    const first = await c.chat(req);
    const second = await c.chat({ ...req });
    expect(second.cached).toBe(true);
    expect(second.choices).toEqual(first.choices);
    expect(server.requests).toHaveLength(1);
    expect(c.usage()).toMatchObject({ calls: 2, requests: 1, cacheHits: 1, completionTokens: first.usage.completionTokens });
    // A different parameter, model or salt is a different entry.
    await c.chat({ ...req, temperature: 0.5 });
    await c.chat(req, { cacheSalt: 'sample-1' });
    await c.chat({ ...req, model: 'other' });
    expect(server.requests).toHaveLength(4);
    // The same request with another key (or another client) still hits: the key is not part of the cache key.
    const other = new OpenAIClient({ baseUrl: server.url, model: 'fake-model', apiKey: 'sk-other', cacheDir: dir, env: {} });
    expect((await other.chat(req)).cached).toBe(true);
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(4);
    for (const f of files) {
      expect(f).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{64}\.json$/);
      expect(await readFile(join(dir, f), 'utf8')).not.toContain(SECRET);
    }
    // Damage every entry: the next call is a miss, goes to the server and rewrites it.
    for (const f of files) await writeFile(join(dir, f), '{"format":"quarry-llm-cache","vers');
    expect((await c.chat(req)).cached).toBe(false);
    expect((await c.chat(req)).cached).toBe(true);
    expect((await c.chat(req, { noCache: true })).cached).toBe(false);
  });

  it('never maps a key outside its folder', () => {
    const cache = new GenerationCache(dir);
    expect(() => cache.pathOf('../../etc/passwd')).toThrow(/64 hex digits/);
    expect(() => cache.pathOf('A'.repeat(64))).toThrow(QuarryError);
    expect(cache.pathOf('ab'.repeat(32))).toBe(join(dir, 'ab', `${'ab'.repeat(32)}.json`));
  });
});

describe('OpenAIGenerator', () => {
  it('returns n samples from one request when the server honours n', async () => {
    const g = new OpenAIGenerator(client(), { system: 'Be brief.', defaults: { temperature: 0.7, maxTokens: 32 } });
    const out = await g.generate('Why?', { n: 3 });
    expect(out).toEqual([0, 1, 2].map((i) => `answer ${i} to: Why?`));
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.body).toEqual({
      model: 'fake-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Why?' },
      ],
      n: 3,
      temperature: 0.7,
      max_tokens: 32,
    });
  });

  it('tops up to n with further requests (cached apart) when the server ignores n', async () => {
    const c = client({ cacheDir: dir });
    const g = new OpenAIGenerator(c, { api: 'completions' });
    server.fail({ kind: 'ignore-n' }, { kind: 'ignore-n' });
    const out = await g.generate('P:', { n: 3, seed: 7, maxTokens: 4 });
    expect(out).toHaveLength(3);
    expect(server.requests.map((r) => [r.body['n'], r.body['seed']])).toEqual([
      [3, 7],
      [2, 8],
      [1, 9],
    ]);
    // The second run is served from the cache, sample for sample.
    expect(await g.generate('P:', { n: 3, seed: 7, maxTokens: 4 })).toEqual(out);
    expect(server.requests).toHaveLength(3);
  });
});
