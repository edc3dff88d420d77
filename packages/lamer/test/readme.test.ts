import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAIServer } from '@quarry/llm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureQuickstart, codeBlock, outputBlock, readmeHeadings } from '../../../tools/testing/readme.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');

afterEach(() => vi.restoreAllMocks());

describe('README', () => {
  it('has the shared section layout', () => {
    const headings = readmeHeadings(readme);
    expect(headings).toEqual(['@quarry/lamer', 'When to use it', 'Install', 'Example', 'Running with a real LLM', 'API', 'How it works', 'Paper', 'Results', 'Licence']);
  });

  it('shows examples/quickstart.ts and the output it really prints', async () => {
    expect(readme).toContain(codeBlock(example, 'ts'));
    const lines = await captureQuickstart(() => import('../examples/quickstart.js'));
    expect(lines).toHaveLength(4);
    expect(readme).toContain(outputBlock(lines));
  });

  it('the LLM example runs as written against an OpenAI-compatible server (loopback)', async () => {
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const llm = blocks.find((b) => b.includes('OpenAIClient'))!;
    expect(llm).toContain("baseUrl: 'http://127.0.0.1:8000/v1'");
    const server = await FakeOpenAIServer.start({ reply: (_p, i) => `Vitamin D prevents fractures, answer ${i}.` });
    const cache = mkdtempSync(join(tmpdir(), 'quarry-readme-'));
    const file = join(__dirname, `readme-llm-${process.pid}.tmp.ts`);
    try {
      writeFileSync(file, llm.replace('http://127.0.0.1:8000/v1', server.url).replace("'.cache/llm'", JSON.stringify(cache)));
      const logged: unknown[] = [];
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args[0]));
      await import(file);
      const trace = logged[0] as { answers: string[]; augmentedQuery: string; prompt: string };
      expect(trace.answers).toHaveLength(5);
      expect(trace.prompt).toContain('scientific paper passages');
      expect(server.requests[0]!.body).toMatchObject({ model: 'Qwen/Qwen2.5-7B-Instruct', n: 5, temperature: 0.7, max_tokens: 256 });
    } finally {
      rmSync(file, { force: true });
      rmSync(cache, { recursive: true, force: true });
      await server.close();
    }
  });
});
