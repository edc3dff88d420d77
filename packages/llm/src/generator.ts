import { InputError, QuarryError, checkOptions, type ChatMessage, type GenerateOptions, type Generator } from '@quarry/core';
import type { OpenAIClient } from './client.js';
import { openAIGeneratorOptionsSchema } from './options.js';
import type { SamplingParams } from './types.js';

export interface OpenAIGeneratorOptions {
  /** 'chat' (default): /chat/completions; 'completions': /completions with the prompt as raw text. */
  api?: 'chat' | 'completions';
  /** A system message put before a string prompt (chat API only). */
  system?: string;
  /** Defaults for every call; `generate` options override them. */
  defaults?: SamplingParams;
}

/**
 * The core `Generator` over an OpenAI-compatible server. It always returns exactly `n`
 * samples: servers that ignore `n` (Ollama, some llama.cpp builds) answer with fewer
 * choices, so the rest are asked for in further requests, each cached apart.
 */
export class OpenAIGenerator implements Generator {
  readonly name: string;

  constructor(
    readonly client: OpenAIClient,
    readonly options: OpenAIGeneratorOptions = {},
  ) {
    checkOptions(openAIGeneratorOptionsSchema, options, 'OpenAIGenerator options');
    this.name = `openai:${client.model ?? 'unset'}`;
  }

  async generate(prompt: string | readonly ChatMessage[], options: GenerateOptions = {}): Promise<string[]> {
    const api = this.options.api ?? 'chat';
    const d = this.options.defaults ?? {};
    const n = options.n ?? d.n ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new InputError(`n must be an integer >= 1, got ${n}.`);
    const params: SamplingParams = {
      ...d,
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      ...(options.stop !== undefined ? { stop: options.stop } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    };
    let messages: ChatMessage[] | undefined;
    let text: string | undefined;
    if (api === 'chat') {
      messages = typeof prompt === 'string' ? [...(this.options.system ? [{ role: 'system' as const, content: this.options.system }] : []), { role: 'user' as const, content: prompt }] : [...prompt];
    } else {
      if (typeof prompt !== 'string') throw new InputError('The completions API takes a text prompt; use api: "chat" for messages.');
      text = prompt;
    }
    const out: string[] = [];
    for (let round = 0; out.length < n; round++) {
      const want = n - out.length;
      const call = { signal: options.signal, ...(round > 0 ? { cacheSalt: `sample-${out.length}` } : {}) };
      const request = { ...params, n: want, ...(round > 0 && params.seed !== undefined ? { seed: params.seed + out.length } : {}) };
      const result = messages ? await this.client.chat({ ...request, messages }, call) : await this.client.complete({ ...request, prompt: text! }, call);
      if (result.choices.length === 0) throw new QuarryError('UPSTREAM_FAILED', `The LLM server at ${this.client.baseUrl} returned no choices; check the model name and the request.`);
      for (const choice of result.choices.slice(0, want)) out.push(choice.text);
    }
    return out;
  }
}
