import { InputError } from '@quarry/core';

/** The Boolean operators the modules model. */
export type BoolOperator = 'and' | 'or' | 'not';
export const OPERATORS: readonly BoolOperator[] = ['and', 'or', 'not'];

/**
 * One piece of a composed query: the text of source query A or B, or a connective
 * carrying an operator. Concatenating the pieces' `text` gives the query.
 */
export interface Segment {
  text: string;
  role: 'a' | 'b' | 'cue';
  /** For cue pieces: the operator the connective expresses. */
  op?: BoolOperator;
}

/** A phrasing of an operator: a sequence of slots (A, B) and connective strings. */
export interface Template {
  id: string;
  op: BoolOperator;
  /** `{A}` and `{B}` are the source queries; any other text is a connective (a cue). */
  pattern: string;
  /** Which tokens each cue governs: the B part (`b`), or both parts (`ab`). */
  scope: 'b' | 'ab';
}

/**
 * Phrasings of the benchmark (train and test splits). Scopes follow the set logic of
 * the relevance labels: `A and B` -> rel(A) ∩ rel(B), `A or B` -> rel(A) ∪ rel(B),
 * `A but not B` -> rel(A) \ rel(B) (the NOT cue governs B).
 */
export const BENCHMARK_TEMPLATES: readonly Template[] = [
  { id: 'and', op: 'and', pattern: '{A} and {B}', scope: 'ab' },
  { id: 'both-and', op: 'and', pattern: 'both {A} and {B}', scope: 'ab' },
  { id: 'as-well-as', op: 'and', pattern: '{A}, as well as {B}', scope: 'ab' },
  { id: 'or', op: 'or', pattern: '{A} or {B}', scope: 'ab' },
  { id: 'either-or', op: 'or', pattern: 'either {A} or {B}', scope: 'ab' },
  { id: 'or-else', op: 'or', pattern: '{A}, or else {B}', scope: 'ab' },
  { id: 'but-not', op: 'not', pattern: '{A} but not {B}', scope: 'b' },
  { id: 'excluding', op: 'not', pattern: '{A}, excluding {B}', scope: 'b' },
  { id: 'without', op: 'not', pattern: '{A} without {B}', scope: 'b' },
  { id: 'not-but', op: 'not', pattern: 'not {B}, but {A}', scope: 'b' },
];

/**
 * Extra phrasings of the first trainer (kept for the API; the trainer now renders the train
 * families of `families.ts`, which include these).
 */
export const TRAINING_TEMPLATES: readonly Template[] = [
  { id: 'together-with', op: 'and', pattern: '{A} together with {B}', scope: 'ab' },
  { id: 'and-also', op: 'and', pattern: '{A}, and also {B}', scope: 'ab' },
  { id: 'alternatively', op: 'or', pattern: '{A}, alternatively {B}', scope: 'ab' },
  { id: 'or-maybe', op: 'or', pattern: '{A} or maybe {B}', scope: 'ab' },
  { id: 'except', op: 'not', pattern: '{A}, except {B}', scope: 'b' },
  { id: 'leaving-out', op: 'not', pattern: '{A}, leaving out {B}', scope: 'b' },
  { id: 'excluding-first', op: 'not', pattern: 'excluding {B}, {A}', scope: 'b' },
  { id: 'and-not', op: 'not', pattern: '{A} and not {B}', scope: 'b' },
];

export function templateById(id: string): Template {
  const t = [...BENCHMARK_TEMPLATES, ...TRAINING_TEMPLATES].find((x) => x.id === id);
  if (!t) throw new InputError(`Unknown Boolean template "${id}"; known: ${[...BENCHMARK_TEMPLATES, ...TRAINING_TEMPLATES].map((x) => x.id).join(', ')}.`);
  return t;
}

/** A claim as a clause: no trailing period, first letter lowercased unless it starts an acronym or a symbol. */
export function asClause(text: string, position: 'first' | 'inner'): string {
  let s = text.trim().replace(/[.\s]+$/u, '');
  if (position === 'inner' && s.length > 1 && /^[A-Z][a-z]/u.test(s)) s = s[0]!.toLowerCase() + s.slice(1);
  return s;
}

/** Renders a template with source queries A and B, keeping which piece is what. */
export function compose(template: Template, a: string, b: string): { text: string; segments: Segment[] } {
  const segments: Segment[] = [];
  const re = /\{(A|B)\}/gu;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(template.pattern)) !== null) {
    if (m.index > last) segments.push({ text: template.pattern.slice(last, m.index), role: 'cue', op: template.op });
    const first = m.index === 0;
    segments.push({ text: asClause(m[1] === 'A' ? a : b, first ? 'first' : 'inner'), role: m[1] === 'A' ? 'a' : 'b' });
    last = m.index + m[0].length;
  }
  if (last < template.pattern.length) segments.push({ text: template.pattern.slice(last), role: 'cue', op: template.op });
  return { text: segments.map((s) => s.text).join(''), segments };
}
