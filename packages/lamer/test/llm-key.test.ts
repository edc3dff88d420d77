import { MemoryDocStore } from '@quarry/core';
import { FakeOpenAIServer, OpenAIGenerator } from '@quarry/llm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmAnswers, answerSourceFor, lamerRewriterPlugin } from '../src/index.js';

// An index manifest or pipeline file can name any llmUrl: the key in the environment must not follow it there.
describe('the environment API key and a configured llmUrl (S2)', () => {
  let server: FakeOpenAIServer;
  const saved = { key: process.env['OPENAI_API_KEY'], url: process.env['QUARRY_LLM_URL'] };
  beforeAll(async () => {
    server = await FakeOpenAIServer.start();
    process.env['OPENAI_API_KEY'] = 'sk-env-KEY-lamer-0123456789';
  });
  afterAll(async () => {
    for (const [name, value] of [
      ['OPENAI_API_KEY', saved.key],
      ['QUARRY_LLM_URL', saved.url],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await server.close();
  });

  async function ask(): Promise<string | undefined> {
    const options = lamerRewriterPlugin.schema.parse({ generator: 'openai', llmUrl: server.url, llmModel: 'm', retries: 0 });
    const source = await answerSourceFor(options, { docs: new MemoryDocStore([]) });
    expect(source).toBeInstanceOf(LlmAnswers);
    expect((source as LlmAnswers).generator).toBeInstanceOf(OpenAIGenerator);
    server.requests.length = 0;
    await source.answers({ query: { id: 'q1', text: 'q' }, prompt: 'q', candidates: [], n: 1 });
    return server.requests[0]!.headers['authorization'];
  }

  it('sends no Authorization header to an llmUrl that is not the environment endpoint', async () => {
    delete process.env['QUARRY_LLM_URL'];
    expect(await ask()).toBeUndefined();
  });

  it('sends the key when QUARRY_LLM_URL names that same endpoint', async () => {
    process.env['QUARRY_LLM_URL'] = server.url;
    expect(await ask()).toBe('Bearer sk-env-KEY-lamer-0123456789');
  });
});
