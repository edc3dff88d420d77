import { InputError, checkOptions, type NextTokenScorer } from '@quarry/core';
import { openAIScorerOptionsSchema } from './options.js';
import type { OpenAIClient, TokenLogprob } from '@quarry/llm';
import type { AllowedTokenScorer } from './beam.js';
import type { TokenCodec } from './corpus-scorer.js';
import { ScorerError } from './errors.js';

export interface OpenAIScorerOptions {
  /** How many alternatives to ask for per step (`logprobs` of /completions; OpenAI allows 5, vLLM its --max-logprobs, default 20). */
  topLogprobs?: number;
  /** Most tokens one request may bias (OpenAI: 300). Larger allowed sets are sent without a bias and filtered. */
  maxBiasTokens?: number;
  /** Bias added to allowed tokens (default 100, the API's maximum). */
  bias?: number;
  /**
   * Send the prompt as token ids instead of text (vLLM and OpenAI's legacy completions accept
   * an array of ids; the ids must be the server model's). Default false: text, re-tokenized by the server.
   */
  promptAsTokenIds?: boolean;
  /** Extra body fields for every request (e.g. vLLM `{ return_tokens_as_token_ids: true }`). */
  extra?: Record<string, unknown>;
}

/**
 * Next-token scores from an OpenAI-compatible server's `/completions` endpoint: one
 * request per beam per step with `max_tokens: 1`, `temperature: 0`, `logprobs: k` and, when
 * the allowed set fits, `logit_bias` of +100 on exactly the allowed tokens, so the returned
 * top-k are allowed tokens (the server's distribution restricted to the constraint). The
 * server's tokens are mapped back to ids through `codec`, which must be the server model's
 * tokenizer (its tokenizer.json): by text, or by `token_id:N` when the server returns ids.
 * Allowed tokens outside the returned top-k get no score (the beam cannot pick them), so a
 * step can choose among at most k tokens.
 */
export class OpenAIScorer implements NextTokenScorer, AllowedTokenScorer {
  readonly name = 'openai';
  readonly vocabSize: number;
  readonly #client: OpenAIClient;
  readonly #codec: TokenCodec;
  readonly #k: number;
  readonly #maxBias: number;
  readonly #bias: number;
  readonly #ids: boolean;
  readonly #extra: Record<string, unknown>;
  readonly #pieces = new Map<number, string>();

  constructor(client: OpenAIClient, codec: TokenCodec, options: OpenAIScorerOptions = {}) {
    checkOptions(openAIScorerOptionsSchema, options, 'OpenAIScorer options');
    this.#client = client;
    this.#codec = codec;
    this.vocabSize = codec.vocabSize;
    this.#k = options.topLogprobs ?? 20;
    this.#maxBias = options.maxBiasTokens ?? 300;
    this.#bias = options.bias ?? 100;
    this.#ids = options.promptAsTokenIds ?? false;
    this.#extra = options.extra ?? {};
    if (!Number.isInteger(this.#k) || this.#k < 1) throw new InputError(`topLogprobs must be an integer >= 1, got ${this.#k}.`);
  }

  encode(text: string): number[] {
    return this.#codec.encode(text);
  }

  decode(ids: readonly number[]): string {
    return this.#codec.decode(ids);
  }

  #piece(id: number): string {
    let p = this.#pieces.get(id);
    if (p === undefined) {
      p = this.#codec.decode([id]);
      this.#pieces.set(id, p);
    }
    return p;
  }

  async #top(prefix: readonly number[], bias: Record<string, number> | undefined, signal?: AbortSignal): Promise<{ token: string; logprob: number }[]> {
    const request = {
      prompt: this.#ids ? '' : this.#codec.decode(prefix),
      maxTokens: 1,
      temperature: 0,
      logprobs: this.#k,
      ...(bias ? { logitBias: bias } : {}),
      extra: { ...this.#extra, ...(this.#ids ? { prompt: [...prefix] } : {}) },
    };
    const result = await this.#client.complete(request, signal ? { signal } : {});
    const lp: TokenLogprob | undefined = result.choices[0]?.logprobs?.[0];
    if (!lp)
      throw new ScorerError(`The server at ${this.#client.baseUrl} returned no logprobs for /completions; LLM2GR needs a server that returns "logprobs" (see the llm2gr README for which servers do).`);
    const top = lp.top.length ? lp.top : lp.logprob !== null ? [{ token: lp.token, logprob: lp.logprob }] : [];
    return top.filter((t) => Number.isFinite(t.logprob));
  }

  /** Maps returned tokens to ids among `candidates` (by `token_id:N` or by decoded text). */
  #match(top: { token: string; logprob: number }[], candidates: Int32Array): Map<number, number> {
    const byPiece = new Map<string, number[]>();
    for (const id of candidates) {
      const piece = this.#piece(id);
      byPiece.set(piece, [...(byPiece.get(piece) ?? []), id]);
    }
    const allowed = new Set(candidates);
    const out = new Map<number, number>();
    for (const { token, logprob } of top) {
      const m = /^token_id:(\d+)$/.exec(token);
      const ids = m ? (allowed.has(Number(m[1])) ? [Number(m[1])] : []) : (byPiece.get(token) ?? []);
      for (const id of ids) if (!out.has(id)) out.set(id, logprob);
    }
    return out;
  }

  async allowedLogProbs(prefixes: readonly (readonly number[])[], allowed: readonly Int32Array[], signal?: AbortSignal): Promise<Float32Array[]> {
    return Promise.all(
      prefixes.map(async (prefix, i) => {
        const cand = allowed[i]!;
        const out = new Float32Array(cand.length).fill(-Infinity);
        if (cand.length === 0) return out;
        const bias = cand.length <= this.#maxBias ? Object.fromEntries(Array.from(cand, (id) => [String(id), this.#bias])) : undefined;
        const found = this.#match(await this.#top(prefix, bias, signal), cand);
        cand.forEach((id, j) => {
          const v = found.get(id);
          if (v !== undefined) out[j] = v;
        });
        return out;
      }),
    );
  }

  /** The contract's full distribution: only the server's top-k are known; every other token is -Infinity. */
  async nextTokenLogProbs(prefixes: readonly (readonly number[])[], signal?: AbortSignal): Promise<Float32Array[]> {
    return Promise.all(
      prefixes.map(async (prefix) => {
        const out = new Float32Array(this.vocabSize).fill(-Infinity);
        for (const { token, logprob } of await this.#top(prefix, undefined, signal)) {
          const m = /^token_id:(\d+)$/.exec(token);
          const ids = m ? [Number(m[1])] : this.#codec.encode(token);
          if (ids.length === 1 && ids[0]! < this.vocabSize && out[ids[0]!] === -Infinity) out[ids[0]!] = logprob;
        }
        return out;
      }),
    );
  }
}
