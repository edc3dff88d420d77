import { checkOptions, type Doc, type Generator, type Query } from '@quarry/core';
import { llmAnswerOptionsSchema } from './options.js';

/** A first-round document shown to the answer generator. */
export interface Candidate {
  id: string;
  /** 0-based rank in the first round. */
  rank: number;
  score: number;
  doc: Doc;
  /** Title + text truncated to the candidate token budget: what the prompt shows. */
  text: string;
}

export interface AnswerInput {
  query: Query;
  /** The rendered prompt (what an LLM sees; an extractive source ignores it). */
  prompt: string;
  /** First-round candidates, best first (empty in HyDE mode). */
  candidates: readonly Candidate[];
  /** How many answers to return. */
  n: number;
  signal?: AbortSignal;
}

/** Where LameR's answers come from: an LLM, or (without one) passages extracted from the candidates. */
export interface AnswerSource {
  readonly name: string;
  /** 'llm': generated text; 'extractive': pseudo-relevance feedback (sentences copied from the candidates). */
  readonly kind: 'llm' | 'extractive';
  answers(input: AnswerInput): Promise<string[]>;
}

export interface LlmAnswerOptions {
  /** Sampling temperature (default 0.7: the answers should differ). */
  temperature?: number;
  /** Tokens per answer (default 256). */
  maxTokens?: number;
  seed?: number;
}

/** Answers sampled from any core `Generator` (e.g. `@quarry/llm`'s OpenAIGenerator) given the prompt. */
export class LlmAnswers implements AnswerSource {
  readonly kind = 'llm';
  readonly name: string;

  constructor(
    readonly generator: Generator,
    readonly options: LlmAnswerOptions = {},
  ) {
    checkOptions(llmAnswerOptionsSchema, options, 'LlmAnswers options');
    this.name = generator.name;
  }

  async answers(input: AnswerInput): Promise<string[]> {
    const out = await this.generator.generate(input.prompt, {
      n: input.n,
      temperature: this.options.temperature ?? 0.7,
      maxTokens: this.options.maxTokens ?? 256,
      ...(this.options.seed !== undefined ? { seed: this.options.seed } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
    });
    return out.map((a) => a.trim());
  }
}
