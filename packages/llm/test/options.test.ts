import { describe, expect, it } from 'vitest';
import { OpenAIClient, OpenAIGenerator } from '../src/index.js';
import { configIssue as issue } from '../../../tools/testing/config-error.js';

describe('llm options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion', async () => {
    expect(await issue(() => new OpenAIClient({ baseURL: 'http://127.0.0.1:1/v1', env: {} } as never))).toMatchObject({ path: 'baseURL', suggestion: 'baseUrl' });
    expect(await issue(() => new OpenAIClient({ timeout: 5, env: {} } as never))).toMatchObject({ suggestion: 'timeoutMs' });
    const client = new OpenAIClient({ baseUrl: 'http://127.0.0.1:1/v1', model: 'm', env: {}, onRetry: () => {} });
    expect(await issue(() => new OpenAIGenerator(client, { sytem: 'Be brief.' } as never))).toMatchObject({ suggestion: 'system' });
    expect(await issue(() => new OpenAIGenerator(client, { defaults: { max_tokens: 5 } } as never))).toMatchObject({ path: 'defaults.max_tokens', suggestion: 'maxTokens' });
  });
});
