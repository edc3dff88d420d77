import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeOpenAIServer } from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

afterEach(() => vi.restoreAllMocks());

describe('README', () => {
  it('has the shared section layout', () => {
    const headings = [...readme.matchAll(/^##? (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(['@quarry/llm', 'When to use it', 'Install', 'Example', 'API', 'Paper', 'Results', 'Licence']);
  });

  it('the example runs as written against an OpenAI-compatible server (loopback)', async () => {
    const example = readme.match(/## Example\n\n```ts\n([\s\S]*?)```/)![1]!;
    expect(example).toContain("baseUrl: 'http://127.0.0.1:8080/v1'");
    const server = await FakeOpenAIServer.start();
    const cache = mkdtempSync(join(tmpdir(), 'quarry-llm-readme-'));
    const file = join(__dirname, `readme-${process.pid}.tmp.ts`);
    try {
      writeFileSync(file, example.replace('http://127.0.0.1:8080/v1', server.url).replace("'.cache/llm'", JSON.stringify(cache)));
      const logged: unknown[][] = [];
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args));
      await import(file);
      expect(logged[0]![0]).toEqual(['answer 0 to: Name a fruit.', 'answer 1 to: Name a fruit.']);
      expect(logged[0]![1]).toBe(false);
      expect(logged[1]![0]).toEqual([
        ['The', null],
        [' capital', -1.1],
        [' of', -1.2],
        [' France', -1.3],
        [' is', -1.4],
        [' Paris', -1.5],
      ]);
      expect(server.requests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/completions', '/v1/chat/completions']);
    } finally {
      rmSync(file, { force: true });
      rmSync(cache, { recursive: true, force: true });
      await server.close();
    }
  });
});
