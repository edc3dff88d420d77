import type { RaggedMatrix } from '@quarry/core';
import { maxSimAlignment } from './maxsim.js';

/** One query token's best document token under MaxSim (the playground's "token matches"). */
export interface TokenMatch {
  queryToken: string;
  docToken: string;
  /** Position of the document token among the document's token vectors. */
  docIndex: number;
  score: number;
}

/** Renders a text as the token strings its vectors stand for (one per vector, in order). */
export type TokenStrings = (text: string, role: 'query' | 'document') => string[];

/**
 * For query item `qi` and document item `di`, which document token each query token
 * matched and how well, with token strings where `tokens` gives them (else positions).
 */
export function tokenMatches(queries: RaggedMatrix, qi: number, docs: RaggedMatrix, di: number, queryTokens?: readonly string[], docTokens?: readonly string[]): TokenMatch[] {
  const { docToken, similarity } = maxSimAlignment(queries, qi, docs, di);
  return Array.from(docToken, (d, i) => ({
    queryToken: queryTokens?.[i] ?? `#${i}`,
    docToken: d < 0 ? '' : (docTokens?.[d] ?? `#${d}`),
    docIndex: d,
    score: Math.round(similarity[i]! * 1e4) / 1e4,
  }));
}
