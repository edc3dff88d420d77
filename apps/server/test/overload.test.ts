import { AbortError, QuarryError, MemoryDocStore, Pipeline, parsePipelineConfig, type Hit, type Query, type Retriever, type SearchOptions } from '@quarry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createServer, type ServedPipeline } from '../src/index.js';
import { getJson, post, postJson, rawRequest } from './helpers.js';
import { connect } from 'node:net';
import { Writable } from 'node:stream';

/**
 * A test retriever whose searches wait on a gate the test opens, so a test can hold
 * searches in flight on purpose. `honoursSignal: false` models a search that cannot be
 * interrupted (a long synchronous scoring loop): it ends after `ignoreMs` whatever happens.
 */
class GatedRetriever implements Retriever {
  readonly name = 'gated';
  #open!: () => void;
  #gate!: Promise<void>;
  constructor(
    private readonly honoursSignal = true,
    private readonly ignoreMs = 0,
  ) {
    this.close();
  }
  close(): void {
    this.#gate = new Promise((r) => (this.#open = r));
  }
  open(): void {
    this.#open();
  }
  async search(query: Query | string, options?: SearchOptions): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }
  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    if (!this.honoursSignal) await new Promise((r) => setTimeout(r, this.ignoreMs));
    else {
      await new Promise<void>((resolve, reject) => {
        if (options.signal?.aborted) return reject(new AbortError('search'));
        options.signal?.addEventListener('abort', () => reject(new AbortError('search')), { once: true });
        void this.#gate.then(resolve);
      });
    }
    return queries.map(() => [{ id: 'd1', score: 1 }]);
  }
}

function served(name: string, retriever: Retriever): ServedPipeline {
  const docs = new MemoryDocStore([{ id: 'd1', title: 'One', text: 'the only document' }]);
  const pipeline = new Pipeline(parsePipelineConfig({ name, retrievers: [{ plugin: 'gated' }] }), docs, [retriever]);
  return { name, pipeline, source: { kind: 'index', index: 'fixture' }, loadSeconds: 0, cached: false };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const search = (url: string, pipeline = 'gated') => postJson(`${url}/search`, { pipeline, query: 'anything', k: 1 });

describe('bounded concurrency', () => {
  const gated = new GatedRetriever();
  let app: FastifyInstance;
  let url: string;
  const health = async () => (await getJson(`${url}/healthz`)).body as { searching: number; queued: number };

  beforeAll(async () => {
    app = createServer({ pipelines: new Map([['gated', served('gated', gated)]]), limits: { concurrency: 4, queue: 60, retryAfterSeconds: 2, timeoutMs: 30_000 }, log: false });
    url = await listen(app);
  });
  afterAll(() => app.close());

  it('past concurrency + queue, requests get 503 + Retry-After at once; everything below the bound succeeds', async () => {
    gated.close();
    const held = Array.from({ length: 64 }, () => search(url));
    await until(async () => {
      const h = await health();
      return h.searching === 4 && h.queued === 60;
    }, '4 searching + 60 queued');
    const refused = await Promise.all(Array.from({ length: 6 }, () => search(url)));
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('2');
      expect(r.body.error).toEqual({ code: 'OVERLOADED', message: 'The server is at its concurrency limit (4 searching, 60 waiting); retry after 2 s.' });
    }
    // Health, metrics and the playground are not rate limited: the server stays observable under load.
    expect((await getJson(`${url}/healthz`)).status).toBe(200);
    gated.open();
    const answered = await Promise.all(held);
    expect(answered.map((r) => r.status)).toEqual(Array(64).fill(200));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('quarry_http_rejected_total{reason="overloaded"} 6');
    expect(metrics).toContain('quarry_http_requests_total{route="/search",method="POST",status="503"} 6');
    expect(metrics).toContain('quarry_http_requests_total{route="/search",method="POST",status="200"} 64');
    expect(await health()).toMatchObject({ searching: 0, queued: 0 });
  });

  it('a client that leaves mid-search frees its slot (the search is cancelled through its AbortSignal)', async () => {
    gated.close();
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise((r) => socket.once('connect', r));
    socket.write(post('/search', JSON.stringify({ pipeline: 'gated', query: 'x' })));
    await until(async () => (await health()).searching === 1, 'the search to start');
    socket.destroy();
    await until(async () => (await health()).searching === 0, 'the slot to be released');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('quarry_http_requests_total{route="/search",method="POST",status="aborted"} 1');
    gated.open();
    expect((await search(url)).status).toBe(200);
  });
});

describe('failures inside a pipeline', () => {
  class Failing implements Retriever {
    readonly name = 'failing';
    constructor(private readonly error: Error) {}
    async search(): Promise<Hit[]> {
      throw this.error;
    }
    async searchBatch(): Promise<Hit[][]> {
      throw this.error;
    }
  }

  it("an upstream failure is a 502 that names the request id (the plugin's message goes to the log); a bug is a 500 that names the request id and logs the stack", async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write: (chunk, _e, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const app = createServer({
      pipelines: new Map([
        ['llm', served('llm', new Failing(new QuarryError('UPSTREAM_FAILED', 'The LLM endpoint http://127.0.0.1:9/v1 refused the connection; start it or fix --llm-url.')))],
        ['buggy', served('buggy', new Failing(new TypeError("Cannot read properties of undefined (reading 'secret')")))],
      ]),
      log: { level: 'info', stream },
    });
    const url = await listen(app);
    try {
      const upstream = await search(url, 'llm');
      expect(upstream.status).toBe(502);
      const upstreamId = upstream.headers.get('x-request-id');
      expect(upstream.body.error).toEqual({ code: 'UPSTREAM_FAILED', message: `A service this pipeline depends on failed (request ${upstreamId}); the server log has the details.` });
      const upstreamLogged = lines.map((l) => JSON.parse(l) as { msg: string; reqId?: string; err?: { message: string } }).find((l) => l.msg === 'request failed' && l.reqId === upstreamId);
      expect(upstreamLogged?.err?.message).toBe('The LLM endpoint http://127.0.0.1:9/v1 refused the connection; start it or fix --llm-url.');
      const bug = await search(url, 'buggy');
      expect(bug.status).toBe(500);
      const id = bug.headers.get('x-request-id');
      expect(bug.body.error).toEqual({ code: 'INTERNAL', message: `The server failed to answer (request ${id}); the server log has the details.` });
      const logged = lines.map((l) => JSON.parse(l) as { msg: string; reqId?: string; err?: { stack: string } }).find((l) => l.msg === 'request failed' && l.reqId === id);
      expect(logged?.err?.stack).toMatch(/TypeError: Cannot read properties of undefined/);
      expect((await getJson(`${url}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('per-request deadline', () => {
  const stuck = new GatedRetriever(true);
  const uninterruptible = new GatedRetriever(false, 400);
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    app = createServer({
      pipelines: new Map([
        ['stuck', served('stuck', stuck)],
        ['slow', served('slow', uninterruptible)],
      ]),
      limits: { concurrency: 1, queue: 4, timeoutMs: 200 },
      log: false,
    });
    url = await listen(app);
  });
  afterAll(() => app.close());

  it('a search past the deadline is cancelled and answered 504 TIMEOUT', async () => {
    const r = await search(url, 'stuck');
    expect(r.status).toBe(504);
    expect(r.body.error.code).toBe('TIMEOUT');
    expect(r.body.error.message).toMatch(/took longer than this server's deadline of 200 ms \(server.limits.timeoutMs\)/);
  });

  it('a search that cannot be interrupted still answers 504 once it ends past the deadline, and one queued behind it gets 503', async () => {
    const [first, queued] = await Promise.all([search(url, 'slow'), search(url, 'slow')]);
    expect(first.status).toBe(504);
    expect(queued.status).toBe(503);
    expect(queued.headers.get('retry-after')).toBe('1');
    expect(queued.body.error.message).toMatch(/waited for a search slot past its deadline/);
    const raw = await rawRequest(url, ['GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n']);
    expect(raw.status).toBe(200);
  });
});
