import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAIServer } from '@quarry/llm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, scifact, useTemporaryCache } from './helpers.js';

// Issue #15 S2: the environment's API key goes to the endpoint the environment or the command
// line names, never to one a pipeline file (or an index manifest) names.
const KEY = 'sk-test-env-key-5555';
let typed: FakeOpenAIServer;
let fromFile: FakeOpenAIServer;
beforeAll(async () => {
  useTemporaryCache();
  process.env['OPENAI_API_KEY'] = KEY;
  delete process.env['QUARRY_LLM_URL'];
  delete process.env['QUARRY_LLM_API_KEY'];
  typed = await FakeOpenAIServer.start();
  fromFile = await FakeOpenAIServer.start();
});
afterAll(async () => {
  delete process.env['OPENAI_API_KEY'];
  await typed.close();
  await fromFile.close();
});

describe('where the environment API key goes', () => {
  it('--llm-url typed on the command line gets the key', async () => {
    const r = await cli(
      'search',
      '--dataset',
      scifact,
      '--pipeline',
      'lamer',
      '--generator',
      'openai',
      '--llm-url',
      typed.url,
      '--llm-model',
      'm',
      '--no-cache',
      '--quiet',
      'vitamin D and tuberculosis',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(typed.requests.length).toBeGreaterThan(0);
    for (const req of typed.requests) expect(req.headers['authorization']).toBe(`Bearer ${KEY}`);
  });

  it('an llmUrl written in a pipeline file gets no key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-llm-key-'));
    const file = join(dir, 'lamer.yaml');
    writeFileSync(file, `name: lamer-file\nretrievers:\n  - plugin: lamer\n    options: { generator: openai, llmUrl: "${fromFile.url}", llmModel: m }\n`);
    const r = await cli('search', '--dataset', scifact, '--pipeline', file, '--no-cache', '--quiet', 'vitamin D and tuberculosis');
    expect(r.code).toBe(0);
    expect(fromFile.requests.length).toBeGreaterThan(0);
    for (const req of fromFile.requests) expect(req.headers['authorization']).toBeUndefined();
  });
});
