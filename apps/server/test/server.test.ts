import { join } from 'node:path';
import { main as cli } from '@quarry/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/index.js';
import { configFolder, getJson, logSink, postJson, scifact, useTemporaryCache } from './helpers.js';

const QUERY = 'vitamin D deficiency is linked to multiple sclerosis';
let server: RunningServer;
const logs = logSink();

beforeAll(async () => {
  useTemporaryCache();
  const { dir, file } = configFolder(
    [
      'pipelines:',
      '  bm25: { dataset: scifact, pipeline: bm25 }',
      '  dense: { dataset: scifact, pipeline: dense, description: own encoder }',
      '  saved: { index: indexes/bm25-k1 }',
      'server:',
      '  limits: { maxK: 100, maxBatch: 8 }',
      '',
    ].join('\n'),
  );
  // An index folder written by `quarry index`, with a non-default option to tell it apart.
  const code = await cli(['index', '--dataset', scifact, '--pipeline', 'bm25', '--k1', '1.2', '--out', join(dir, 'indexes/bm25-k1'), '--quiet'], { out: () => {}, err: (l) => console.error(l) });
  expect(code).toBe(0);
  server = await startServer({ configFile: file, port: 0, log: { level: 'info', stream: logs.stream } });
});

afterAll(async () => {
  await server?.close();
});

describe('HTTP API on a real socket', () => {
  it('listens on loopback by default', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('GET /healthz and GET /pipelines describe what is served, without absolute paths', async () => {
    const health = await getJson(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', pipelines: ['bm25', 'dense', 'saved'], searching: 0, queued: 0 });
    const list = await getJson(`${server.url}/pipelines`);
    expect(list.body.pipelines.map((p: { name: string }) => p.name)).toEqual(['bm25', 'dense', 'saved']);
    expect(list.body.pipelines[0]).toMatchObject({
      name: 'bm25',
      documents: 5183,
      source: { kind: 'dataset', dataset: 'scifact', pipeline: 'bm25' },
      config: { retrievers: [{ plugin: 'bm25', options: { k1: 0.9, b: 0.4 } }] },
    });
    expect(list.body.pipelines[1].description).toBe('own encoder');
    expect(list.body.pipelines[2]).toMatchObject({ source: { kind: 'index', index: 'indexes/bm25-k1' }, config: { retrievers: [{ options: { k1: 1.2 } }] } });
    expect(JSON.stringify(list.body)).not.toContain('/tmp');
  });

  it('POST /search answers exactly what the pipeline answers in process', async () => {
    for (const served of server.pipelines) {
      const { status, body, headers } = await postJson(`${server.url}/search`, { pipeline: served.name, query: QUERY, k: 5 });
      expect(status).toBe(200);
      expect(headers.get('x-request-id')).toMatch(/^r/);
      const expected = await served.pipeline.search({ id: 'q', text: QUERY }, { k: 5 });
      expect(body).toMatchObject({ pipeline: served.name, query: QUERY, k: 5 });
      expect(body.tookMs).toBeGreaterThan(0);
      expect(body.hits.map((h: { id: string; score: number }) => [h.id, h.score])).toEqual(expected.map((h) => [h.id, h.score]));
      expect(body.hits.map((h: { rank: number }) => h.rank)).toEqual([1, 2, 3, 4, 5]);
      for (const hit of body.hits) {
        const doc = served.pipeline.docs.get(hit.id)!;
        expect(hit.title).toBe(doc.title || null);
        expect(hit.snippet.length).toBeLessThanOrEqual(241);
        expect(doc.text.startsWith(hit.snippet.replace(/…$/, ''))).toBe(true);
      }
    }
    // bm25 as in the CLI README: the first hit for this query.
    const bm25 = await postJson(`${server.url}/search`, { pipeline: 'bm25', query: QUERY, k: 1, snippet: 0 });
    expect(bm25.body.hits).toEqual([{ rank: 1, id: '22843838', score: expect.closeTo(12.1973, 4), title: '[Vitamin D and latitude as environmental factors in multiple sclerosis].' }]);
    // The saved index with k1=1.2 ranks differently from bm25's k1=0.9 somewhere in the top 100.
    const a = await postJson(`${server.url}/search`, { pipeline: 'bm25', query: QUERY, k: 100 });
    const b = await postJson(`${server.url}/search`, { pipeline: 'saved', query: QUERY, k: 100 });
    expect(b.body.hits.map((h: { score: number }) => h.score)).not.toEqual(a.body.hits.map((h: { score: number }) => h.score));
  });

  it('POST /search/batch equals one /search per query, and keeps caller ids', async () => {
    const queries = ['vitamin D and multiple sclerosis', { id: 'q-cancer', text: 'stem cells in cancer' }, 'aspirin lowers the risk of heart attack'];
    const { status, body } = await postJson(`${server.url}/search/batch`, { pipeline: 'dense', queries, k: 7 });
    expect(status).toBe(200);
    expect(body.results.map((r: { id: string }) => r.id)).toEqual(['0', 'q-cancer', '2']);
    for (const [i, q] of queries.entries()) {
      const text = typeof q === 'string' ? q : q.text;
      const one = await postJson(`${server.url}/search`, { pipeline: 'dense', query: text, k: 7, snippet: 0 });
      expect(body.results[i].query).toBe(text);
      expect(body.results[i].hits).toEqual(one.body.hits);
    }
    const tooMany = await postJson(`${server.url}/search/batch`, { pipeline: 'bm25', queries: Array(9).fill('x y') });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toMatch(/queries: a batch may hold at most 8 queries/);
  });

  it('GET /metrics counts requests by route and status, with a latency histogram and in-flight gauge', async () => {
    await postJson(`${server.url}/search`, { pipeline: 'nope', query: 'x' });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const value = (line: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(line))
          ?.split(' ')
          .at(-1),
      );
    expect(value('quarry_http_requests_total{route="/search",method="POST",status="200"}')).toBe(6 + 3);
    expect(value('quarry_http_requests_total{route="/search",method="POST",status="404"}')).toBe(1);
    expect(value('quarry_http_requests_total{route="/healthz",method="GET",status="200"}')).toBe(1);
    expect(value('quarry_http_request_duration_seconds_count{route="/search"}')).toBe(value('quarry_http_request_duration_seconds_bucket{route="/search",le="+Inf"}'));
    expect(value('quarry_search_queries_total{pipeline="dense"}')).toBe(1 + 3 + 3); // one /search, one batch of 3, 3 /search
    expect(value('quarry_http_requests_in_flight')).toBe(1); // this scrape
    expect(value('quarry_pipeline_documents{pipeline="saved"}')).toBe(5183);
  });

  it('serves the playground page and its assets with a same-origin-only CSP', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await page.text();
    expect(html).toContain('<script src="/playground.js"');
    expect(html).not.toMatch(/https?:\/\//); // no CDN
    const js = await fetch(`${server.url}/playground.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).not.toMatch(/innerHTML|https?:\/\/(?!\S*localhost)/);
    expect((await fetch(`${server.url}/playground.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('logs one JSON line per request with route, status and timing, never the query text', async () => {
    await postJson(`${server.url}/search`, { pipeline: 'bm25', query: 'a private question about zebrafish', k: 3 });
    await new Promise((r) => setTimeout(r, 50));
    const lines = logs.lines;
    expect(lines.find((l) => l['event'] === 'listening')).toMatchObject({ url: server.url, pipelines: ['bm25', 'dense', 'saved'] });
    expect(lines.filter((l) => l['event'] === 'pipeline_loaded').map((l) => l['pipeline'])).toEqual(['bm25', 'dense', 'saved']);
    const search = lines.filter((l) => l['msg'] === 'request' && l['route'] === '/search' && l['status'] === '200').at(-1);
    expect(search).toMatchObject({ method: 'POST', pipeline: 'bm25', queries: 1, reqId: expect.stringMatching(/^r/) });
    expect(typeof search!['ms']).toBe('number');
    expect(logs.text()).not.toContain('zebrafish');
  });
});
