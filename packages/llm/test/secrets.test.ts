import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer, LlmRequestError, OpenAIClient, OpenAIGenerator, endpointUrl, redactText, trustEndpoint, type RetryEvent } from '../src/index.js';

// A server that needs no key, so what the client sends (or not) can be inspected.
let server: FakeOpenAIServer;
const ENV_KEY = 'sk-env-KEY-0123456789abcdef';
const chat = { messages: [{ role: 'user' as const, content: 'x' }] };

beforeAll(async () => {
  server = await FakeOpenAIServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

async function failure(promise: Promise<unknown>): Promise<LlmRequestError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(LlmRequestError);
  return error as LlmRequestError;
}

describe('the environment API key goes only to the environment endpoint (S2)', () => {
  it('a config URL that is not the environment endpoint gets no Authorization header', async () => {
    const c = new OpenAIClient({ baseUrl: server.url, baseUrlFrom: 'config', model: 'm', env: { QUARRY_LLM_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: ENV_KEY } });
    expect(c.hasApiKey).toBe(false);
    await c.chat(chat);
    expect(server.requests[0]!.headers['authorization']).toBeUndefined();
  });

  it('with no URL in the environment, a config URL other than api.openai.com gets no key either', async () => {
    const c = new OpenAIClient({ baseUrl: server.url, baseUrlFrom: 'config', model: 'm', env: { OPENAI_API_KEY: ENV_KEY } });
    await c.chat(chat);
    expect(server.requests[0]!.headers['authorization']).toBeUndefined();
  });

  it('a config URL naming the environment endpoint (trailing slash aside) gets the key', async () => {
    const c = new OpenAIClient({ baseUrl: `${server.url}/`, baseUrlFrom: 'config', model: 'm', env: { OPENAI_BASE_URL: server.url, QUARRY_LLM_API_KEY: ENV_KEY } });
    await c.chat(chat);
    expect(server.requests[0]!.headers['authorization']).toBe(`Bearer ${ENV_KEY}`);
  });

  it('a URL given in code (the default) or the environment URL itself gets the key; an explicit apiKey always goes', async () => {
    await new OpenAIClient({ baseUrl: server.url, model: 'm', env: { OPENAI_API_KEY: ENV_KEY } }).chat(chat);
    await new OpenAIClient({ model: 'm', env: { QUARRY_LLM_URL: server.url, OPENAI_API_KEY: ENV_KEY } }).chat(chat);
    await new OpenAIClient({ baseUrl: server.url, baseUrlFrom: 'config', apiKey: 'sk-explicit-1234', model: 'm', env: {} }).chat(chat);
    expect(server.requests.map((r) => r.headers['authorization'])).toEqual([`Bearer ${ENV_KEY}`, `Bearer ${ENV_KEY}`, 'Bearer sk-explicit-1234']);
  });

  it('a URL the user named directly (trustEndpoint, as --llm-url does) gets the key from a config too; others still do not', async () => {
    // Its own server: trust lasts for the process, and the other tests expect the shared one untrusted.
    const named = await FakeOpenAIServer.start();
    try {
      const env = { QUARRY_LLM_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: ENV_KEY };
      const before = new OpenAIClient({ baseUrl: named.url, baseUrlFrom: 'config', model: 'm', env });
      expect(before.hasApiKey).toBe(false);
      trustEndpoint(`${named.url}/`);
      const after = new OpenAIClient({ baseUrl: named.url, baseUrlFrom: 'config', model: 'm', env });
      expect(after.hasApiKey).toBe(true);
      await after.chat(chat);
      expect(named.requests.at(-1)!.headers['authorization']).toBe(`Bearer ${ENV_KEY}`);
      expect(new OpenAIClient({ baseUrl: server.url, baseUrlFrom: 'config', model: 'm', env }).hasApiKey).toBe(false);
    } finally {
      await named.close();
    }
  });

  it('a 401 from a config URL says the environment key was withheld and how to send it', async () => {
    const c = new OpenAIClient({ baseUrl: server.url, baseUrlFrom: 'config', model: 'm', retries: 0, env: { OPENAI_API_KEY: ENV_KEY } });
    server.fail({ kind: 'status', status: 401 });
    const error = await failure(c.chat(chat));
    expect(error.message).toContain('No API key was sent');
    expect(error.message).toContain('QUARRY_LLM_URL');
  });
});

describe('credentials inside the base URL (S3)', () => {
  it('builds the request URL with the path before the query string', async () => {
    expect(endpointUrl('http://h:1/v1/?api-version=2024&x=1', 'chat/completions').toString()).toBe('http://h:1/v1/chat/completions?api-version=2024&x=1');
    const c = new OpenAIClient({ baseUrl: `${server.url}?api-key=qs-SECRET-123`, model: 'm', env: {} });
    await c.chat(chat);
    expect(server.requests[0]!.url).toBe('/v1/chat/completions?api-key=qs-SECRET-123');
  });

  it('sends user:password as Basic auth, never shows it, and scrubs it from errors and retry events', async () => {
    const base = server.url.replace('http://', 'http://alice:pw-SECRET-456@');
    const events: RetryEvent[] = [];
    const c = new OpenAIClient({ baseUrl: `${base}?api-key=qs-SECRET-123`, model: 'm', env: {}, retries: 1, initialBackoffMs: 1, onRetry: (e) => events.push(e) });
    expect(c.baseUrl).toBe(server.url);
    await c.chat(chat);
    expect(server.requests[0]!.headers['authorization']).toBe(`Basic ${Buffer.from('alice:pw-SECRET-456').toString('base64')}`);
    server.fail(
      { kind: 'echo', status: 500 },
      { kind: 'status', status: 500, body: JSON.stringify({ error: { message: 'bad upstream http://alice:pw-SECRET-456@10.0.0.7:8000/v1?api-key=qs-SECRET-123' } }) },
    );
    const error = await failure(c.chat(chat));
    const shown = `${error.message} ${JSON.stringify(error.details)} ${JSON.stringify(events)}`;
    expect(shown).not.toContain('pw-SECRET-456');
    expect(shown).not.toContain('qs-SECRET-123');
    expect(shown).not.toContain(Buffer.from('alice:pw-SECRET-456').toString('base64'));
    expect(error.message).toContain('[redacted]');
  });

  it('the generator names the endpoint without credentials', () => {
    const g = new OpenAIGenerator(new OpenAIClient({ baseUrl: 'http://u:p-SECRET@h:1/v1?k=v', model: 'm', env: {} }));
    expect(g.client.baseUrl).toBe('http://h:1/v1');
  });
});

describe('server error text is scrubbed (S4)', () => {
  it('an upstream that echoes the Authorization header does not put the key into the error', async () => {
    const c = new OpenAIClient({ baseUrl: server.url, apiKey: ENV_KEY, model: 'm', env: {}, retries: 0 });
    server.fail({ kind: 'echo', status: 502 });
    const error = await failure(c.chat(chat));
    expect(error.message).not.toContain(ENV_KEY);
    expect(error.message).toContain('authorization=Bearer [redacted]');
  });

  it('redactText scrubs known secrets, bearer tokens, URL credentials and query values', () => {
    expect(redactText('key sk-abcdef123 and Bearer xyz.123 at https://u:p@host:1/v1?api-key=s&v=2 ok', ['sk-abcdef123'])).toBe(
      'key [redacted] and Bearer [redacted] at https://[redacted]@host:1/v1?api-key=[redacted]&v=[redacted] ok',
    );
  });
});
