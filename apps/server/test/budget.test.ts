import { MemoryDocStore, Pipeline, parsePipelineConfig, type Doc, type DocStore, type Hit, type Query, type Retriever, type SearchOptions } from '@quarry/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ServedPipeline, type ServerLimitsInput } from '../src/index.js';
import { getJson, logSink, postJson } from './helpers.js';

const DOCS = 2000;
const TEXT = 'lorem ipsum dolor sit amet '.repeat(40).trim(); // about 1 KB per document

/** Answers the first k documents for every query, at once: the cost under test is the answer, not the search. */
class AllDocs implements Retriever {
  readonly name = 'all';
  async search(query: Query | string, options?: SearchOptions): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }
  async searchBatch(queries: readonly (Query | string)[], options: SearchOptions = {}): Promise<Hit[][]> {
    const k = Math.min(options.k ?? 10, DOCS);
    return queries.map(() => Array.from({ length: k }, (_, i) => ({ id: `d${i}`, score: DOCS - i, explain: { note: 'x'.repeat(200) } })));
  }
}

/** A document store whose lookups block for `ms` each (a slow disk): serialising the answer is slow. */
class SlowDocs implements DocStore {
  readonly #inner: MemoryDocStore;
  constructor(
    inner: MemoryDocStore,
    private readonly ms: number,
  ) {
    this.#inner = inner;
  }
  get size(): number {
    return this.#inner.size;
  }
  get(id: string): Doc | undefined {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.ms);
    return this.#inner.get(id);
  }
  has(id: string): boolean {
    return this.#inner.has(id);
  }
  ids(): IterableIterator<string> {
    return this.#inner.ids();
  }
  [Symbol.iterator](): IterableIterator<Doc> {
    return this.#inner[Symbol.iterator]();
  }
}

const memory = new MemoryDocStore(Array.from({ length: DOCS }, (_, i) => ({ id: `d${i}`, title: `Doc ${i}`, text: TEXT })));

function served(name: string, docs: DocStore): ServedPipeline {
  const pipeline = new Pipeline(parsePipelineConfig({ name, retrievers: [{ plugin: 'all' }] }), docs, [new AllDocs()]);
  return { name, pipeline, source: { kind: 'index', index: 'fixture' }, loadSeconds: 0, cached: false };
}

async function start(limits: ServerLimitsInput = {}, log = logSink()): Promise<{ app: FastifyInstance; url: string }> {
  const pipelines = new Map([
    ['all', served('all', memory)],
    ['slow', served('slow', new SlowDocs(memory, 5))],
    ['slowish', served('slowish', new SlowDocs(memory, 1))],
  ]);
  const app = createServer({ pipelines, limits, log: { level: 'info', stream: log.stream } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}

const queries = (n: number) => Array.from({ length: n }, (_, i) => `query ${i}`);

describe('the work budget of one request (issue 15)', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => ({ app, url } = await start()));
  afterAll(() => app.close());

  it("the issue's request (100 queries x k 1000 x snippet 10000) is a 400 BUDGET_EXCEEDED naming maxHits and the asked value", async () => {
    const r = await postJson(`${url}/search/batch`, { pipeline: 'all', queries: queries(100), k: 1000, snippet: 10_000 });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BUDGET_EXCEEDED');
    expect(r.body.error.limit).toEqual({ name: 'maxHits', max: 20_000, asked: 100_000 });
    expect(r.body.error.message).toContain('server.limits.maxHits');
    expect(r.body.error.message).toContain('100000 hits');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^quarry_http_rejected_total\{reason="budget_exceeded"\} [1-9]/m);
  });

  it('hits within budget but too much snippet text is a 400 naming maxSnippetChars; a single search counts too', async () => {
    const batch = await postJson(`${url}/search/batch`, { pipeline: 'all', queries: queries(10), k: 1000, snippet: 1000 });
    expect(batch.status).toBe(400);
    expect(batch.body.error.limit).toEqual({ name: 'maxSnippetChars', max: 2_000_000, asked: 10_000_000 });
    const single = await postJson(`${url}/search`, { pipeline: 'all', query: 'q', k: 1000, snippet: 10_000 });
    expect(single.status).toBe(400);
    expect(single.body.error.limit).toEqual({ name: 'maxSnippetChars', max: 2_000_000, asked: 10_000_000 });
  });

  it('a request at the budget is answered in full, streamed (chunked) once the body passes 64 KiB', async () => {
    const response = await fetch(`${url}/search/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pipeline: 'all', queries: queries(20), k: 1000, snippet: 100 }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await response.json()) as { pipeline: string; k: number; results: { id: string; hits: { rank: number; id: string; snippet: string }[] }[] };
    expect(body.results).toHaveLength(20);
    expect(body.results.map((r) => r.id)).toEqual(queries(20).map((_, i) => String(i)));
    expect(body.results[19]!.hits.map((h) => h.rank)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(body.results[0]!.hits[999]).toMatchObject({ id: 'd999', snippet: expect.stringMatching(/^lorem ipsum/) });
    const single = await postJson(`${url}/search`, { pipeline: 'all', query: 'q', k: 1000, snippet: 0, explain: false });
    expect(single.status).toBe(200);
    expect(single.body.hits.map((h: { rank: number }) => h.rank)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const small = await fetch(`${url}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: 'all', query: 'q', k: 3 }) });
    expect(small.headers.get('content-length')).toBe(String((await small.clone().arrayBuffer()).byteLength));
    expect(((await small.json()) as { hits: unknown[] }).hits).toHaveLength(3);
  });

  it('the limits are set in the server config', async () => {
    const custom = await start({ maxHits: 50, maxSnippetChars: 100 });
    try {
      const hits = await postJson(`${custom.url}/search/batch`, { pipeline: 'all', queries: queries(6), k: 10 });
      expect(hits.body.error.limit).toEqual({ name: 'maxHits', max: 50, asked: 60 });
      const snippet = await postJson(`${custom.url}/search`, { pipeline: 'all', query: 'q', k: 10, snippet: 11 });
      expect(snippet.body.error.limit).toEqual({ name: 'maxSnippetChars', max: 100, asked: 110 });
      expect((await postJson(`${custom.url}/search`, { pipeline: 'all', query: 'q', k: 10, snippet: 10 })).status).toBe(200);
    } finally {
      await custom.app.close();
    }
  });
});

describe('the response size cap and the deadline cover serialisation (issue 15)', () => {
  it('a body that grows past maxResponseBytes before streaming starts is a 400 naming the limit', async () => {
    const { app, url } = await start({ maxResponseBytes: 8192 });
    try {
      const r = await postJson(`${url}/search`, { pipeline: 'all', query: 'q', k: 100, snippet: 0, explain: true });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'BUDGET_EXCEEDED', limit: { name: 'maxResponseBytes', max: 8192 } });
    } finally {
      await app.close();
    }
  });

  it('a streamed body that grows past maxResponseBytes is cut off (the connection closes)', async () => {
    const { app, url } = await start({ maxResponseBytes: 100_000 });
    try {
      const response = await fetch(`${url}/search/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pipeline: 'all', queries: queries(100), k: 100, snippet: 50 }),
      });
      expect(response.status).toBe(200);
      await expect(response.text()).rejects.toThrow();
      expect((await getJson(`${url}/healthz`)).body.searching).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('serialising past the deadline answers 504 while the body is small, and closes the connection once streaming', async () => {
    const log = logSink();
    // 'slow': 1000 document lookups of 5 ms each take 5 s to serialise; 'slowish': 1 ms each, so the first
    // 64 hits (past 64 KiB with 1000-character snippets) are out well before the 1 s deadline, and all 2000 are not.
    const { app, url } = await start({ timeoutMs: 1000 }, log);
    try {
      const small = await postJson(`${url}/search`, { pipeline: 'slow', query: 'q', k: 1000, snippet: 0, explain: false });
      expect(small.status).toBe(504);
      expect(small.body.error.code).toBe('TIMEOUT');
      const big = await fetch(`${url}/search/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pipeline: 'slowish', queries: queries(2), k: 1000, snippet: 1000 }),
      });
      expect(big.status).toBe(200);
      await expect(big.text()).rejects.toThrow();
      const health = await getJson(`${url}/healthz`);
      expect(health.body.searching).toBe(0);
      const lines = log.lines.filter((l) => l['msg'] === 'request' && l['route'] === '/search/batch');
      expect(lines.at(-1)?.['status']).toBe('aborted');
    } finally {
      await app.close();
    }
  });
});
