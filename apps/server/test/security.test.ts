import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryDocStore, Pipeline, QuarryError, parsePipelineConfig, type Hit, type Retriever } from '@quarry/core';
import { defaultRegistry } from '@quarry/cli';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ServedPipeline } from '../src/index.js';
import { getJson, logSink, postJson, rawRequest } from './helpers.js';

const docs = new MemoryDocStore([
  { id: 'd1', title: 'One', text: 'vitamin d and bone fractures' },
  { id: 'd2', title: 'Two', text: 'statins and heart disease' },
]);

class One implements Retriever {
  readonly name = 'one';
  async search(): Promise<Hit[]> {
    return [{ id: 'd1', score: 1 }];
  }
  async searchBatch(queries: readonly unknown[]): Promise<Hit[][]> {
    return queries.map(() => [{ id: 'd1', score: 1 }]);
  }
}

/** A plugin whose upstream failed and quoted the upstream's answer, as a careless plugin would. */
class Leaky implements Retriever {
  readonly name = 'leaky';
  async search(): Promise<Hit[]> {
    throw new QuarryError(
      'UPSTREAM_FAILED',
      'POST http://alice:pw-SECRET-1@10.1.2.3:8000/v1/chat/completions?api-key=qs-SECRET-2 failed: upstream said authorization=Bearer sk-live-SECRET-3abcdef',
      { url: 'http://alice:pw-SECRET-1@10.1.2.3:8000/v1?api-key=qs-SECRET-2', authorization: 'Bearer sk-live-SECRET-3abcdef' },
      { cause: new Error('connect ECONNREFUSED http://alice:pw-SECRET-1@10.1.2.3:8000/v1?api-key=qs-SECRET-2') },
    );
  }
  async searchBatch(): Promise<Hit[][]> {
    return [await this.search()];
  }
}

function served(name: string, retriever: Retriever, options: Record<string, unknown> = {}): ServedPipeline {
  const pipeline = new Pipeline(parsePipelineConfig({ name, retrievers: [{ plugin: 'one', options }] }), docs, [retriever]);
  return { name, pipeline, source: { kind: 'index', index: 'fixture' }, loadSeconds: 0, cached: false };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const get = (host: string) => `GET /healthz HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`;

describe('Host header check against DNS rebinding (S6)', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = createServer({ pipelines: new Map([['one', served('one', new One())]]), allowedHosts: ['search.internal', '*.corp.example'], log: false });
    url = await listen(app);
  });
  afterAll(() => app.close());

  it('a request for another host name (rebind.attacker.example) is refused with 403 HOST_NOT_ALLOWED on every route', async () => {
    const health = await rawRequest(url, [get('rebind.attacker.example')]);
    expect(health.status).toBe(403);
    expect(JSON.parse(health.body).error.code).toBe('HOST_NOT_ALLOWED');
    expect(JSON.parse(health.body).error.message).toContain('server.allowedHosts');
    const body = JSON.stringify({ pipeline: 'one', query: 'q' });
    const search = await rawRequest(url, [
      `POST /search HTTP/1.1\r\nhost: rebind.attacker.example:${new URL(url).port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    ]);
    expect(search.status).toBe(403);
    expect((await rawRequest(url, [get('corp.example')])).status).toBe(403);
    expect((await rawRequest(url, [get('localhost.attacker.example')])).status).toBe(403);
  });

  it('loopback names, IP addresses and the configured names are answered', async () => {
    const port = new URL(url).port;
    for (const host of ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, '[::1]:8080', 'app.localhost', '10.0.0.5', 'search.internal', 'SEARCH.internal:80', 'a.b.corp.example']) {
      expect([host, (await rawRequest(url, [get(host)])).status]).toEqual([host, 200]);
    }
    expect((await postJson(`${url}/search`, { pipeline: 'one', query: 'q' })).status).toBe(200);
  });
});

describe('secrets in pipeline options and upstream errors (S3, S4)', () => {
  let app: FastifyInstance;
  let url: string;
  const log = logSink();
  beforeAll(async () => {
    app = createServer({
      pipelines: new Map([
        [
          'one',
          served('one', new One(), {
            llmUrl: 'http://alice:pw-SECRET-1@10.1.2.3:8000/v1?api-key=qs-SECRET-2&api-version=2024',
            apiKey: 'sk-SECRET-4',
            store: 'postgres://bob:pg-SECRET-5@db:5432/quarry',
          }),
        ],
        ['leaky', served('leaky', new Leaky())],
      ]),
      log: { level: 'info', stream: log.stream },
    });
    url = await listen(app);
  });
  afterAll(() => app.close());

  it('GET /pipelines shows URL-valued options without credentials or query values', async () => {
    const { body } = await getJson(`${url}/pipelines`);
    const text = JSON.stringify(body);
    for (const secret of ['pw-SECRET-1', 'qs-SECRET-2', 'sk-SECRET-4', 'pg-SECRET-5', 'alice', 'bob']) expect(text).not.toContain(secret);
    expect(body.pipelines[0].config.retrievers[0].options).toEqual({
      llmUrl: 'http://[redacted]@10.1.2.3:8000/v1?api-key=[redacted]&api-version=[redacted]',
      apiKey: '[redacted]',
      store: 'postgres://[redacted]@db:5432/quarry',
    });
  });

  it('an upstream failure is a generic 502 with the request id; the log has the details, scrubbed', async () => {
    const r = await postJson(`${url}/search`, { pipeline: 'leaky', query: 'q' });
    expect(r.status).toBe(502);
    const id = r.headers.get('x-request-id');
    expect(r.body.error).toEqual({ code: 'UPSTREAM_FAILED', message: `A service this pipeline depends on failed (request ${id}); the server log has the details.` });
    const logged = log.lines.find((l) => l['msg'] === 'request failed' && l['reqId'] === id);
    expect(logged).toBeDefined();
    const text = JSON.stringify(logged);
    for (const secret of ['pw-SECRET-1', 'qs-SECRET-2', 'sk-live-SECRET-3abcdef']) expect(text).not.toContain(secret);
    expect(text).toContain('10.1.2.3:8000'); // the operator still sees which upstream failed
    expect(text).toContain('ECONNREFUSED');
  });
});

describe('an LLM upstream that echoes the Authorization header, end to end (S4)', () => {
  const KEY = 'sk-env-SECRET-echo-0123456789';
  let upstream: Server;
  let app: FastifyInstance;
  let url: string;
  const log = logSink();
  const saved = { key: process.env['OPENAI_API_KEY'], url: process.env['QUARRY_LLM_URL'] };

  beforeAll(async () => {
    upstream = createHttpServer((req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `internal llm at ${req.headers['host']} rejected authorization=${req.headers['authorization']}` } }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const llmUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    // The key is meant for this endpoint (the environment names it), so it is sent, and echoed back.
    process.env['QUARRY_LLM_URL'] = llmUrl;
    process.env['OPENAI_API_KEY'] = KEY;
    const config = {
      name: 'lamer-llm',
      retrievers: [{ plugin: 'bm25' }],
      rewriter: { plugin: 'lamer', options: { generator: 'openai', llmUrl, llmModel: 'm', retries: 0, answers: 1, candidates: 1 } },
    };
    const pipeline = await Pipeline.build(config, defaultRegistry(), { docs });
    app = createServer({
      pipelines: new Map([['lamer-llm', { name: 'lamer-llm', pipeline, source: { kind: 'index', index: 'fixture' }, loadSeconds: 0, cached: false }]]),
      log: { level: 'info', stream: log.stream },
    });
    url = await listen(app);
  });
  afterAll(async () => {
    for (const [name, value] of [
      ['OPENAI_API_KEY', saved.key],
      ['QUARRY_LLM_URL', saved.url],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await app.close();
    await new Promise((r) => upstream.close(r));
  });

  it('the client gets a generic 502; neither the answer nor the log holds the key', async () => {
    const r = await postJson(`${url}/search`, { pipeline: 'lamer-llm', query: 'vitamin d' });
    expect(r.status).toBe(502);
    const text = JSON.stringify(r.body);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('127.0.0.1');
    const logged = log.lines.find((l) => l['msg'] === 'request failed' && l['reqId'] === r.headers.get('x-request-id'));
    expect(JSON.stringify(logged)).toContain('HTTP 500');
    expect(log.text()).not.toContain(KEY);
  });
});
