import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAIServer } from '@quarry/llm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, scifact, useTemporaryCache } from './helpers.js';

let server: FakeOpenAIServer;
beforeAll(async () => {
  useTemporaryCache();
  server = await FakeOpenAIServer.start({ reply: (prompt, i) => `Answer ${i}: ${prompt.match(/question "([^"]*)"/)?.[1] ?? prompt.slice(0, 30)}` });
});
afterAll(async () => server.close());

interface TraceLine {
  id: string;
  query: string;
  hits: number;
  lamer: { mode: string; generator: string; generatorKind: string; prompt: string; candidates: string[]; answers: string[]; augmentedQuery: string };
}

const readTrace = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TraceLine);

describe('quarry eval --pipeline lamer', () => {
  it('drives an OpenAI-compatible server and writes the per-query trace', async () => {
    const trace = join(mkdtempSync(join(tmpdir(), 'quarry-lamer-')), 'trace.jsonl');
    // The same eval both times: the second run must be answered from the generation cache.
    const evalArgs = [
      'eval',
      '--dataset',
      scifact,
      '--split',
      'test-unseen',
      '--pipeline',
      'lamer',
      '--generator',
      'openai',
      '--llm-url',
      server.url,
      '--llm-model',
      'fake-llm',
      '--answers',
      '3',
      '--candidates',
      '4',
      '--lamer-prompt',
      'scientific',
    ];
    const r = await cli(...evalArgs, '--trace', trace, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { queries: number; metrics: Record<string, number> };
    expect(report.queries).toBe(104);
    const lines = readTrace(trace);
    expect(lines).toHaveLength(104);
    expect(server.requests).toHaveLength(104);
    // Queries of a batch are expanded 4 at a time, so requests may arrive in any order: match them by prompt.
    const byPrompt = new Map(server.requests.map((r) => [(r.body as { messages: { content: string }[] }).messages[0]!.content, r.body as { n: number; model: string }]));
    expect(byPrompt.size).toBe(104);
    for (const line of lines) {
      const body = byPrompt.get(line.lamer.prompt)!;
      expect(body.n).toBe(3);
      expect(body.model).toBe('fake-llm');
      expect(line.lamer.prompt.startsWith(`Give a question "${line.query}" and its possible scientific paper passages (most of these passages are wrong) enumerated as: \n 1.`)).toBe(true);
      expect(line.lamer.prompt).toContain(' \n 4.');
      expect(line.lamer.prompt).not.toContain(' \n 5.');
      expect(line.lamer.candidates).toHaveLength(4);
      expect(line.lamer.answers).toEqual([0, 1, 2].map((j) => `Answer ${j}: ${line.query}`));
      expect(line.lamer.augmentedQuery).toBe(line.lamer.answers.map((a) => `${line.query} ${a}`).join(' '));
      expect(line.lamer.generatorKind).toBe('llm');
      expect(line.hits).toBe(1000);
    }
    // A second run is answered by the generation cache: no new request.
    const again = await cli(...evalArgs, '--json');
    expect(again.code).toBe(0);
    expect(server.requests).toHaveLength(104);
    expect(JSON.parse(again.out).metrics).toEqual(report.metrics);
  });

  it('evaluates the extractive default (no LLM) to its pinned figures and traces it', async () => {
    const trace = join(mkdtempSync(join(tmpdir(), 'quarry-lamer-')), 'trace.jsonl');
    const r = await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', 'lamer', '--trace', trace, '--json');
    expect(r.code).toBe(0);
    const metrics = (JSON.parse(r.out) as { metrics: Record<string, number> }).metrics;
    // Same figures as packages/lamer/test/scifact.test.ts.
    expect(metrics['ndcg@10']).toBeCloseTo(0.6793, 4);
    expect(metrics['recall@100']).toBeCloseTo(0.95, 4);
    const lines = readTrace(trace);
    expect(lines).toHaveLength(104);
    expect(lines[0]!.lamer.generatorKind).toBe('extractive');
    expect(lines[0]!.lamer.answers).toHaveLength(5);
  });

  it('says what to do when hyde has no LLM, or the server is down', async () => {
    const hyde = await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', 'hyde', '--json');
    expect(hyde.code).toBe(2);
    expect(hyde.err).toMatch(/--llm-model/);
    const file = join(mkdtempSync(join(tmpdir(), 'quarry-hyde-')), 'hyde.yaml');
    writeFileSync(file, 'name: hyde-down\nretrievers:\n  - plugin: lamer\n    options: { mode: hyde, generator: openai, retries: 1 }\n');
    const down = await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', file, '--llm-url', 'http://127.0.0.1:9/v1', '--llm-model', 'm', '--no-cache', '--json');
    expect(down.code).not.toBe(0);
    expect(down.err).toMatch(/POST http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions failed after 2 attempts: network error/);
  });
});
