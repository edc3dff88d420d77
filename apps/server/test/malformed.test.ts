import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/index.js';
import { configFolder, getJson, post, postJson, rawRequest, useTemporaryCache, type RawResponse } from './helpers.js';

let server: RunningServer;

beforeAll(async () => {
  useTemporaryCache();
  const { file } = configFolder(
    ['pipelines:', '  bm25: { dataset: scifact, pipeline: bm25 }', 'server:', '  limits: { bodyBytes: 4096, bodyTimeoutMs: 600, headersTimeoutMs: 1000, maxK: 100 }', ''].join('\n'),
  );
  server = await startServer({ configFile: file, port: 0, log: false });
});

afterAll(async () => {
  await server?.close();
});

// Whatever a case did, the server must still answer a real search correctly.
afterEach(async () => {
  expect((await getJson(`${server.url}/healthz`)).status).toBe(200);
  const ok = await postJson(`${server.url}/search`, { pipeline: 'bm25', query: 'vitamin D and multiple sclerosis', k: 1 });
  expect(ok.status).toBe(200);
  expect(ok.body.hits[0].id).toBe('22843838');
});

function json(response: RawResponse): { statusCode: number; error: { code: string; message: string; issues?: { path: string; message: string }[] } } {
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(response.body);
  expect(body.statusCode).toBe(response.status);
  return body;
}

describe('malformed requests: each a 4xx with a message that says what to fix', () => {
  it('bad JSON -> 400 INVALID_JSON with the parser position and an example body', async () => {
    const response = await rawRequest(server.url, [post('/search', '{"pipeline": "bm25", "query": "x",}')]);
    expect(response.status).toBe(400);
    const { error } = json(response);
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toMatch(/not valid JSON \(.*position 34.*\); send a JSON object such as \{"pipeline": "bm25"/);
    for (const body of ['', '   ', '{', 'nul', '\u00ff\u00fe']) {
      const r = await rawRequest(server.url, [post('/search', body)]);
      expect(r.status).toBe(400);
      expect(json(r).error.message).toMatch(/empty|not valid JSON/);
    }
  });

  it('wrong types, missing or unknown fields, out-of-range k -> 400 INVALID_REQUEST listing every field', async () => {
    const wrong = await postJson(`${server.url}/search`, { pipeline: 1, query: ['x'], k: 'ten' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('INVALID_REQUEST');
    expect(wrong.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['pipeline', 'query', 'k']);
    expect(wrong.body.error.message).toMatch(/^Invalid search request:\n {2}- pipeline: Invalid input: expected string, received number/);
    const cases: [unknown, RegExp][] = [
      [{ pipeline: 'bm25' }, /query: Invalid input: expected string, received undefined/],
      [{ pipeline: 'bm25', query: '   ' }, /query: the query text is empty/],
      [{ pipeline: 'bm25', query: 'x', k: 0 }, /k: Too small: expected number to be >=1/],
      [{ pipeline: 'bm25', query: 'x', k: 2.5 }, /k: Invalid input: expected int, received number/],
      [{ pipeline: 'bm25', query: 'x', k: 101 }, /k: k may be at most 100 on this server/],
      [{ pipeline: 'bm25', query: 'x', top_k: 5 }, /Unrecognized key: "top_k"/],
      [{ pipeline: 'bm25', query: 'x'.repeat(4097) }, /at most 4096 characters|larger|bytes/],
      [[{ pipeline: 'bm25', query: 'x' }], /\(root\): Invalid input: expected object, received array/],
      [null, /\(root\): Invalid input: expected object, received null/],
      ['bm25 x', /\(root\): Invalid input: expected object, received string/],
    ];
    for (const [body, message] of cases) {
      const r = await postJson(`${server.url}/search`, body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.error.message).toMatch(message);
    }
    const batch = await postJson(`${server.url}/search/batch`, { pipeline: 'bm25', queries: ['ok', 3, { id: '', text: 'y' }] });
    expect(batch.status).toBe(400);
    expect(batch.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['queries[1]', 'queries[2].id']);
  });

  it('unknown pipeline -> 404 UNKNOWN_PIPELINE naming the served ones', async () => {
    const r = await postJson(`${server.url}/search`, { pipeline: 'bm26', query: 'x' });
    expect(r.status).toBe(404);
    expect(r.body.error).toEqual({ code: 'UNKNOWN_PIPELINE', message: 'Unknown pipeline "bm26". This server serves: bm25 (GET /pipelines).' });
    expect((await postJson(`${server.url}/search/batch`, { pipeline: '', queries: ['x'] })).body.error.message).toMatch(/pipeline: name a pipeline from GET \/pipelines/);
  });

  it('oversize body -> 413 BODY_TOO_LARGE, declared or streamed, and the connection is closed', async () => {
    const declared = await rawRequest(server.url, [post('/search', `{"pipeline":"bm25","query":"${'x'.repeat(5000)}"}`)]);
    expect(declared.status).toBe(413);
    expect(json(declared).error).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(json(declared).error.message).toMatch(/declares 5030 bytes; this server accepts at most 4096 bytes \(server.limits.bodyBytes\)/);
    expect(declared.headers['connection']).toBe('close');
    // Chunked: no length up front, so the limit trips while reading.
    const head = 'POST /search/batch HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const streamed = await rawRequest(server.url, [head, chunk('{"pipeline":"bm25","queries":['), ...Array.from({ length: 6 }, () => chunk(`"${'y'.repeat(1000)}",`))], { pauseMs: 5 });
    expect(streamed.status).toBe(413);
    expect(json(streamed).error.message).toMatch(/sent more than 4096 bytes/);
  });

  it('slow client: a body that stops arriving, or trickles in, -> 408 BODY_TIMEOUT and the connection is closed', async () => {
    const body = '{"pipeline":"bm25","query":"vitamin D"}';
    const started = Date.now();
    const stalled = await rawRequest(server.url, [post('/search', body).slice(0, -10)]);
    expect(stalled.status).toBe(408);
    expect(json(stalled).error.message).toMatch(/The request body did not arrive within 600 ms \(\d+ bytes received of 39\); send the whole body at once\./);
    expect(stalled.closed || stalled.headers['connection'] === 'close').toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    const full = post('/search', body);
    const split = full.indexOf('\r\n\r\n') + 4;
    const trickle = await rawRequest(server.url, [full.slice(0, split), ...full.slice(split).split('')], { pauseMs: 40 });
    expect(trickle.status).toBe(408);
  });

  it('slow client: headers that never finish -> 408 from the HTTP layer, connection closed', async () => {
    const r = await rawRequest(server.url, ['POST /search HTTP/1.1\r\nhost: localhost\r\ncontent-'], { timeoutMs: 8000 });
    expect(r.status).toBe(408);
    expect(r.headers['connection']).toBe('close');
    expect(json(r).error).toEqual({ code: 'HEADERS_TIMEOUT', message: 'The request headers did not arrive within 1000 ms (server.limits.headersTimeoutMs).' });
  });

  it('wrong media type or encoding -> 415; wrong method -> 405 with Allow; unknown route -> 404; broken HTTP -> 400', async () => {
    const text = await fetch(`${server.url}/search`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'vitamin D' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as any).error.message).toMatch(/Content-Type "text\/plain" is not accepted; send the body as JSON with content-type: application\/json/);
    const gz = await rawRequest(server.url, [post('/search', '{}', { 'content-encoding': 'gzip' })]);
    expect(gz.status).toBe(415);
    expect(json(gz).error.message).toMatch(/Content-Encoding "gzip" is not supported/);
    const noBody = await fetch(`${server.url}/search`, { method: 'POST' });
    expect(noBody.status).toBe(400);
    expect(((await noBody.json()) as any).error.message).toMatch(/needs a JSON body with the header content-type: application\/json/);
    const get = await fetch(`${server.url}/search/batch`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(((await get.json()) as any).error.message).toBe('GET /search/batch is not supported; use POST /search/batch.');
    const missing = await getJson(`${server.url}/admin?x=1`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/^No route GET \/admin\. Routes: GET \/, .*POST \/search/);
    const broken = await rawRequest(server.url, ['NOT HTTP AT ALL\r\n\r\n']);
    expect(broken.status).toBe(400);
    expect(json(broken).error.message).toMatch(/^The request is not valid HTTP\/1\.1 \(HPE_/);
    const huge = await rawRequest(server.url, [`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    expect(huge.status).toBe(431);
  });

  it('any JSON value or byte string as a body gets a 2xx/4xx answer, never a 5xx (property test)', async () => {
    const bodies = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc
        .record(
          {
            pipeline: fc.oneof(fc.constant('bm25'), fc.string()),
            query: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
            k: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.double(), fc.string()),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom('/search', '/search/batch'), async (body, path) => {
        const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const parsed = (await r.json()) as any;
        return r.status < 500 && (r.status === 200 ? Array.isArray(parsed.hits ?? parsed.results) : typeof parsed.error.message === 'string' && parsed.error.message.length > 10);
      }),
      { numRuns: 150, seed: 42 },
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).not.toMatch(/status="5\d\d"/);
  });
});
