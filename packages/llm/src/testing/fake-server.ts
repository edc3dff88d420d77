import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A failure the fake server injects into the next request(s), first in, first out. */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; retryAfterMs?: string; body?: string }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'malformed'; body?: string }
  | { kind: 'drop' }
  /** Answer `status` with an error message that echoes the request's Authorization and Host headers, as a careless proxy does. */
  | { kind: 'echo'; status: number }
  /** Answer normally but with only one choice, as servers that ignore `n` do. */
  | { kind: 'ignore-n' };

export interface RecordedRequest {
  path: string;
  /** The request target as sent, query string included. */
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** What the fake answers for choice `index` of a request (chat: the last user message is `prompt`). */
export type ReplyFunction = (prompt: string, index: number, body: Record<string, unknown>) => string;

export interface FakeServerOptions {
  reply?: ReplyFunction;
  /** If set, requests without `Authorization: Bearer <key>` get a 401. */
  apiKey?: string;
}

/**
 * A test double that speaks the OpenAI chat/completions API on loopback (node:http):
 * deterministic replies, `n` choices, logprobs in both API shapes, `echo`, token usage,
 * and injectable faults (slow responses, any status with Retry-After, malformed JSON,
 * dropped connections, ignoring `n`). For tests of code that talks to an LLM server;
 * it generates no language.
 */
export class FakeOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  readonly #faults: Fault[] = [];
  #inFlight = 0;
  maxInFlight = 0;
  reply: ReplyFunction;

  private constructor(
    readonly server: Server,
    readonly url: string,
    private readonly options: FakeServerOptions,
  ) {
    this.reply = options.reply ?? ((prompt, index) => `answer ${index} to: ${prompt.slice(0, 40)}`);
  }

  static async start(options: FakeServerOptions = {}): Promise<FakeOpenAIServer> {
    let self: FakeOpenAIServer | undefined;
    const server = createServer((req, res) => void self!.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new FakeOpenAIServer(server, `http://127.0.0.1:${port}/v1`, options);
    return self;
  }

  /** Queue faults for the next requests, in order. */
  fail(...faults: Fault[]): this {
    this.#faults.push(...faults);
    return this;
  }

  /** Requests being handled now (slow faults keep running after the client gave up). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves once no request is being handled. */
  async idle(): Promise<void> {
    while (this.#inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  }

  get pendingFaults(): number {
    return this.#faults.length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return send(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
      }
      const path = (req.url ?? '').replace(/\?.*$/, '');
      this.requests.push({ path, url: req.url ?? '', headers: req.headers, body });
      if (this.options.apiKey && req.headers['authorization'] !== `Bearer ${this.options.apiKey}`) {
        return send(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error' } });
      }
      const fault = this.#faults.shift();
      if (fault?.kind === 'echo') {
        return send(res, fault.status, {
          error: { message: `upstream ${req.headers['host']} rejected the request with headers authorization=${req.headers['authorization'] ?? '(none)'}`, type: 'server_error' },
        });
      }
      if (fault?.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.kind === 'status') {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = fault.retryAfterMs;
        res.writeHead(fault.status, { 'content-type': 'application/json', ...headers });
        res.end(fault.body ?? JSON.stringify({ error: { message: `injected ${fault.status}`, type: 'server_error' } }));
        return;
      }
      if (fault?.kind === 'malformed') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(fault.body ?? '{"id": "cmpl-1", "choices": [ {"text": "trunc');
        return;
      }
      const n = fault?.kind === 'ignore-n' ? 1 : typeof body['n'] === 'number' ? (body['n'] as number) : 1;
      if (path.endsWith('/chat/completions')) return send(res, 200, this.#chat(body, n));
      if (path.endsWith('/completions')) return send(res, 200, this.#completion(body, n));
      return send(res, 404, { error: { message: `no route ${path}`, type: 'invalid_request_error' } });
    } finally {
      this.#inFlight--;
    }
  }

  #chat(body: Record<string, unknown>, n: number): unknown {
    const messages = (body['messages'] as { role: string; content: string }[]) ?? [];
    const prompt = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const promptTokens = messages.reduce((s, m) => s + words(m.content).length, 0);
    let completionTokens = 0;
    const choices = Array.from({ length: n }, (_, index) => {
      const text = this.reply(prompt, index, body);
      const tokens = words(text);
      completionTokens += tokens.length;
      const top = typeof body['top_logprobs'] === 'number' ? (body['top_logprobs'] as number) : 0;
      return {
        index,
        message: { role: 'assistant', content: text },
        finish_reason: 'stop',
        logprobs: body['logprobs']
          ? {
              content: tokens.map((token, t) => ({
                token,
                logprob: -0.5 - t / 10,
                bytes: [...Buffer.from(token)],
                top_logprobs: Array.from({ length: top }, (_, j) => ({ token: j === 0 ? token : `${token}#${j}`, logprob: -0.5 - t / 10 - j })),
              })),
            }
          : null,
      };
    });
    return {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 0,
      model: String(body['model']),
      choices,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    };
  }

  #completion(body: Record<string, unknown>, n: number): unknown {
    const prompt = String(body['prompt'] ?? '');
    const promptTokens = words(prompt);
    const maxTokens = typeof body['max_tokens'] === 'number' ? (body['max_tokens'] as number) : 16;
    let completionTokens = 0;
    const choices = Array.from({ length: n }, (_, index) => {
      const generated = maxTokens === 0 ? [] : words(this.reply(prompt, index, body)).slice(0, maxTokens);
      completionTokens += generated.length;
      const tokens = body['echo'] ? [...promptTokens, ...generated] : generated;
      const k = typeof body['logprobs'] === 'number' ? (body['logprobs'] as number) : undefined;
      let offset = 0;
      const offsets = tokens.map((t) => {
        const o = offset;
        offset += t.length;
        return o;
      });
      return {
        index,
        text: tokens.join(''),
        finish_reason: 'length',
        logprobs:
          k === undefined
            ? null
            : {
                tokens,
                token_logprobs: tokens.map((_, t) => (body['echo'] && t === 0 ? null : -1 - t / 10)),
                top_logprobs: tokens.map((tok, t) => (body['echo'] && t === 0 ? null : Object.fromEntries(Array.from({ length: k }, (_, j) => [j === 0 ? tok : `${tok}#${j}`, -1 - t / 10 - j])))),
                text_offset: offsets,
              },
      };
    });
    return {
      id: 'cmpl-fake',
      object: 'text_completion',
      created: 0,
      model: String(body['model']),
      choices,
      usage: { prompt_tokens: promptTokens.length, completion_tokens: completionTokens, total_tokens: promptTokens.length + completionTokens },
    };
  }
}

/** Whitespace-kept word pieces (" foo"), so joined tokens give back the text. */
function words(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

function send(res: ServerResponse, status: number, json: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(json));
}
