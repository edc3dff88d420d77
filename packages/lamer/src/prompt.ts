import { InputError } from '@quarry/core';

/**
 * LameR's prompt (Shen et al., 2023, section 3), with the paper's domain variants. `{query}` is
 * the question and `{candidates}` the enumerated candidate passages (` \n 1.c1 \n 2.c2 ...`).
 */
export const LAMER_TEMPLATES = {
  /** The paper's default (MS MARCO / TREC DL, web questions). */
  web: 'Give a question "{query}" and its possible answering passages (most of these passages are wrong) enumerated as:{candidates} \n please write a correct answering passage.',
  /** SciFact, TREC-COVID, NFCorpus, SciDocs. */
  scientific: 'Give a question "{query}" and its possible scientific paper passages (most of these passages are wrong) enumerated as:{candidates} \n please write a correct scientific paper passage.',
  /** ArguAna. */
  'counter-argument':
    'Give a question "{query}" and its possible counter-argument passages (most of these passages are wrong) enumerated as:{candidates} \n please write a correct counter-argument passage.',
  /** FiQA. */
  financial:
    'Give a question "{query}" and its possible answering financial article passages (most of these passages are wrong) enumerated as:{candidates} \n please write a correct answering financial article passage.',
} as const;

/** HyDE's zero-shot prompts (Gao et al., 2022, appendix), the baseline without candidates. */
export const HYDE_TEMPLATES = {
  web: 'Please write a passage to answer the question.\nQuestion: {query}\nPassage:',
  scientific: 'Please write a scientific paper passage to support/refute the claim.\nClaim: {query}\nPassage:',
  'counter-argument': 'Please write a counter argument for the passage.\nPassage: {query}\nCounter Argument:',
  financial: 'Please write a financial article passage to answer the question.\nQuestion: {query}\nPassage:',
} as const;

export type PromptDomain = keyof typeof LAMER_TEMPLATES;
export const PROMPT_DOMAINS = Object.keys(LAMER_TEMPLATES) as PromptDomain[];

/** The first `maxTokens` whitespace-separated tokens of a text, whitespace collapsed. */
export function truncateTokens(text: string, maxTokens: number): string {
  const tokens = text.split(/\s+/).filter((t) => t !== '');
  return tokens.slice(0, maxTokens).join(' ');
}

/** ` \n 1.c1 \n 2.c2 ...`: the paper's enumeration. */
export function enumerateCandidates(candidates: readonly string[]): string {
  return candidates.map((c, i) => ` \n ${i + 1}.${c}`).join('');
}

/**
 * Fills a template. `{query}` is required; `{candidates}` too when there are candidates
 * (a HyDE template has none). Placeholders are replaced once each, so braces in the
 * query or the passages are never re-expanded.
 */
export function renderPrompt(template: string, query: string, candidates: readonly string[]): string {
  if (!template.includes('{query}')) throw new InputError('A LameR/HyDE prompt template needs a {query} placeholder.', { template });
  if (candidates.length > 0 && !template.includes('{candidates}'))
    throw new InputError('This prompt template has no {candidates} placeholder, but candidates were retrieved; use a LameR template or set candidates to 0.', { template });
  return template.replace(/\{query\}|\{candidates\}/g, (m) => (m === '{query}' ? query : enumerateCandidates(candidates)));
}

/** A domain name or a literal template. */
export function resolveTemplate(mode: 'lamer' | 'hyde', template: string): string {
  const table = mode === 'lamer' ? LAMER_TEMPLATES : HYDE_TEMPLATES;
  if (template in table) return table[template as PromptDomain];
  if (!template.includes('{query}'))
    throw new InputError(`Unknown prompt "${template}": use one of ${PROMPT_DOMAINS.join(', ')} or a template with {query}${mode === 'lamer' ? ' and {candidates}' : ''}.`);
  return template;
}

export interface AugmentOptions {
  /** Copies of the query before each answer (default 1: the paper's q + a1 + q + a2 ...). */
  queryRepeats?: number;
}

/**
 * The paper's augmented query `q + a1 + q + a2 + ... + q + an`: the query is repeated
 * before every answer so that it keeps its weight against the longer answers. Whitespace
 * inside answers is collapsed; empty answers are dropped (the query alone remains when all are).
 */
export function augmentQuery(query: string, answers: readonly string[], options: AugmentOptions = {}): string {
  const repeats = options.queryRepeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) throw new InputError(`queryRepeats must be an integer >= 1, got ${repeats}.`);
  const q = query.replace(/\s+/g, ' ').trim();
  const parts: string[] = [];
  for (const answer of answers) {
    const a = answer.replace(/\s+/g, ' ').trim();
    if (a === '') continue;
    for (let r = 0; r < repeats; r++) parts.push(q);
    parts.push(a);
  }
  return parts.length === 0 ? q : parts.join(' ');
}
