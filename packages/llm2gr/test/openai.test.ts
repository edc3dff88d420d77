import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIClient } from '@quarry/llm';
import { Llm2grIndex, Llm2grRetriever, OpenAIScorer } from '../src/index.js';
import { ToyScorer } from './toy.js';

const V = 12;

/**
 * A loopback /v1/completions server backed by the toy language model: it applies
 * `logit_bias` to the logits before the softmax and returns the top `logprobs` tokens as
 * text (or as `token_id:N` when asked), as vLLM and OpenAI do.
 */
class LogprobServer {
  readonly bodies: Record<string, unknown>[] = [];
  url = '';
  #server: Server | undefined;
  constructor(readonly lm: ToyScorer) {}

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', async () => {
        const body = JSON.parse(raw) as Record<string, unknown>;
        this.bodies.push(body);
        const ids = Array.isArray(body['prompt']) ? (body['prompt'] as number[]) : this.lm.encode(String(body['prompt']));
        const [lp] = await this.lm.nextTokenLogProbs([ids]);
        const bias = (body['logit_bias'] ?? {}) as Record<string, number>;
        const logits = Array.from(lp!, (v, t) => v + (bias[String(t)] ?? 0));
        const max = Math.max(...logits);
        const z = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
        const k = Number(body['logprobs'] ?? 0);
        const order = logits
          .map((v, t) => [t, v - z] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, k);
        const name = (t: number): string => (body['return_tokens_as_token_ids'] ? `token_id:${t}` : this.lm.decode([t]));
        const choice = {
          index: 0,
          text: name(order[0]![0]),
          finish_reason: 'length',
          logprobs: { tokens: [name(order[0]![0])], token_logprobs: [order[0]![1]], top_logprobs: [Object.fromEntries(order.map(([t, v]) => [name(t), v]))], text_offset: [0] },
        };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ id: 'x', object: 'text_completion', model: body['model'], choices: [choice], usage: { prompt_tokens: ids.length, completion_tokens: 1, total_tokens: ids.length + 1 } }),
        );
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server!.close(r));
  }
}

describe('OpenAIScorer against a loopback OpenAI-compatible server', () => {
  const lm = new ToyScorer(V, 3);
  const server = new LogprobServer(lm);
  let client: OpenAIClient;
  beforeAll(async () => {
    await server.start();
    client = new OpenAIClient({ baseUrl: server.url, model: 'toy', retries: 0, env: {} });
  });
  afterAll(() => server.close());

  it('biases exactly the allowed tokens and returns the distribution restricted to them', async () => {
    const scorer = new OpenAIScorer(client, lm, { topLogprobs: 20 });
    const allowed = Int32Array.from([2, 5, 9]);
    const [got] = await scorer.allowedLogProbs([[1, 4, 4]], [allowed]);
    const [full] = await lm.nextTokenLogProbs([[1, 4, 4]]);
    const z = Math.log([...allowed].reduce((s, t) => s + Math.exp(full![t]!), 0));
    allowed.forEach((t, j) => expect(got![j]).toBeCloseTo(full![t]! - z, 3));
    const body = server.bodies.at(-1)!;
    expect(body).toMatchObject({ model: 'toy', max_tokens: 1, temperature: 0, logprobs: 20, prompt: '1 4 4' });
    expect(Object.keys(body['logit_bias'] as object).sort()).toEqual(['2', '5', '9']);
  });

  it('keeps only the top k when the allowed set is larger; no bias beyond maxBiasTokens; token ids on request', async () => {
    const scorer = new OpenAIScorer(client, lm, { topLogprobs: 2, maxBiasTokens: 3, promptAsTokenIds: true, extra: { return_tokens_as_token_ids: true } });
    const allowed = Int32Array.from([0, 1, 2, 3, 4, 5]);
    const [got] = await scorer.allowedLogProbs([[7, 7]], [allowed]);
    expect(got!.filter((v) => v > -Infinity).length).toBeLessThanOrEqual(2);
    const body = server.bodies.at(-1)!;
    expect(body['logit_bias']).toBeUndefined();
    expect(body['prompt']).toEqual([7, 7]);
    const [dist] = await scorer.nextTokenLogProbs([[7, 7]]);
    expect(dist!.length).toBe(V);
    expect(dist!.filter((v) => v > -Infinity).length).toBe(2);
  });

  it('drives LLM2GR: titles come from the corpus and prefixes occur in the recalled documents', async () => {
    const docs = Array.from({ length: 8 }, (_, i) => ({ id: `d${i}`, title: `${i % 5} ${(i * 3) % 7} 1`, text: Array.from({ length: 25 }, (_, j) => (i * 5 + j * 7) % V).join(' ') }));
    const scorer = new OpenAIScorer(client, lm);
    const index = Llm2grIndex.build(docs, scorer);
    const r = new Llm2grRetriever(index, scorer, { titleBeam: 3, passageBeam: 2, prefixLength: 4, passageLength: 8, titleEnd: '' });
    const gen = await r.generate('2 3');
    expect(gen.titles.length).toBeGreaterThan(0);
    for (const t of gen.titles) expect(docs.some((d) => d.title === t.title)).toBe(true);
    for (const p of gen.passages) expect(docs.find((d) => d.id === p.doc)!.text).toContain(p.prefix);
  });

  it('says what is missing when the server returns no logprobs', async () => {
    const bare = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'text_completion', model: 'm', choices: [{ index: 0, text: 'a', finish_reason: 'length' }] }));
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    try {
      const c = new OpenAIClient({ baseUrl: `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1`, model: 'm', retries: 0, env: {} });
      await expect(new OpenAIScorer(c, lm).allowedLogProbs([[1]], [Int32Array.from([1, 2])])).rejects.toThrow(/returned no logprobs/);
    } finally {
      bare.closeAllConnections();
      await new Promise((r) => bare.close(r));
    }
  });
});
