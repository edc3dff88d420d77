import { InputError } from '@quarry/core';
import { compose, type BoolOperator, type Segment, type Template } from './compose.js';

/**
 * A phrasing family: one way of saying an operator (a connective, a negated verb, an exclusion
 * clause, a parenthetical, a clause order, a punctuation / case variant), with the split it
 * belongs to. The modules are trained on `train` families only; `heldout` families are phrasings
 * they never saw, used to measure how far cue and scope detection generalise. The split is by
 * family, not by sentence: every pair of claims is rendered in held-out families at evaluation
 * time, and no held-out family is ever rendered for training.
 */
export interface PhrasingFamily extends Template {
  split: 'train' | 'heldout';
  /** What the family varies (connective, negated verb, exclusion clause, parenthetical, clause order, punctuation / case). */
  kind: 'connective' | 'negated-verb' | 'exclusion-clause' | 'parenthetical' | 'clause-order' | 'punctuation-case';
  /**
   * The words of the connective that are the cue proper (gold cue span); the other connective
   * words ("I am ... interested in") are neither cue nor scope. Absent: every word of the connective.
   */
  cueWords?: readonly string[];
}

const f = (id: string, op: BoolOperator, pattern: string, split: PhrasingFamily['split'], kind: PhrasingFamily['kind'], cueWords?: string[]): PhrasingFamily => ({
  id,
  op,
  pattern,
  scope: op === 'not' ? 'b' : 'ab',
  split,
  kind,
  ...(cueWords ? { cueWords } : {}),
});

/**
 * The committed phrasing families and their train / held-out split (26 NOT, 12 AND, 12 OR).
 * The four NOT phrasings and three each of AND and OR of the benchmark's test split are train
 * families (the benchmark's own phrasings); the five phrasings quoted in issue #19 are held out.
 */
export const PHRASING_FAMILIES: readonly PhrasingFamily[] = [
  // NOT, train (15)
  f('not/but-not', 'not', '{A} but not {B}', 'train', 'connective'),
  f('not/excluding', 'not', '{A}, excluding {B}', 'train', 'exclusion-clause'),
  f('not/without', 'not', '{A} without {B}', 'train', 'connective'),
  f('not/not-but', 'not', 'not {B}, but {A}', 'train', 'clause-order', ['not']),
  f('not/except', 'not', '{A}, except {B}', 'train', 'connective'),
  f('not/leaving-out', 'not', '{A}, leaving out {B}', 'train', 'exclusion-clause'),
  f('not/excluding-first', 'not', 'excluding {B}, {A}', 'train', 'clause-order'),
  f('not/and-not', 'not', '{A} and not {B}', 'train', 'connective', ['not']),
  f('not/do-not-want', 'not', '{A}; I do not want {B}', 'train', 'negated-verb', ['not']),
  f('not/other-than', 'not', '{A}, other than {B}', 'train', 'connective'),
  f('not/paren-no', 'not', '{A} (no {B})', 'train', 'parenthetical', ['no']),
  f('not/sentence-not-about', 'not', '{A}. Not about {B}', 'train', 'exclusion-clause', ['not']),
  f('not/but-omit', 'not', '{A}, but omit {B}', 'train', 'negated-verb', ['omit']),
  f('not/b-excluded-first', 'not', '{B} should be excluded; {A}', 'train', 'clause-order', ['excluded']),
  f('not/colon-no', 'not', '{A}: no {B}', 'train', 'punctuation-case', ['no']),
  // NOT, held out (11)
  f('not/not-interested', 'not', '{A}; I am not interested in {B}', 'heldout', 'negated-verb', ['not']),
  f('not/rather-than', 'not', '{A}, rather than {B}', 'heldout', 'connective'),
  f('not/exclude-anything', 'not', '{A}. Exclude anything about {B}', 'heldout', 'exclusion-clause', ['exclude']),
  f('not/minus', 'not', '{A} minus {B}', 'heldout', 'connective'),
  f('not/only-no', 'not', 'only {A}, no {B}', 'heldout', 'clause-order', ['no']),
  f('not/dont-include', 'not', "{A}, but don't include {B}", 'heldout', 'negated-verb', ["don't"]),
  f('not/instead-of-first', 'not', 'instead of {B}, {A}', 'heldout', 'clause-order'),
  f('not/paren-but-not', 'not', '{A} (but not {B})', 'heldout', 'parenthetical', ['not']),
  f('not/apart-from', 'not', '{A}, apart from {B}', 'heldout', 'connective'),
  f('not/semicolon-caps-not', 'not', '{A}; NOT {B}', 'heldout', 'punctuation-case', ['not']),
  f('not/b-not-relevant-first', 'not', '{B} is not relevant here; {A}', 'heldout', 'clause-order', ['not']),
  // AND, train (7)
  f('and/and', 'and', '{A} and {B}', 'train', 'connective'),
  f('and/both-and', 'and', 'both {A} and {B}', 'train', 'connective'),
  f('and/as-well-as', 'and', '{A}, as well as {B}', 'train', 'connective'),
  f('and/together-with', 'and', '{A} together with {B}', 'train', 'connective'),
  f('and/and-also', 'and', '{A}, and also {B}', 'train', 'connective'),
  f('and/plus', 'and', '{A} plus {B}', 'train', 'connective'),
  f('and/semicolon-also', 'and', '{A}; also {B}', 'train', 'punctuation-case', ['also']),
  // AND, held out (5)
  f('and/along-with', 'and', '{A} along with {B}', 'heldout', 'connective'),
  f('and/in-addition-to', 'and', '{A}, in addition to {B}', 'heldout', 'connective'),
  f('and/ampersand', 'and', '{A} & {B}', 'heldout', 'punctuation-case'),
  f('and/paren-and', 'and', '{A} (and {B})', 'heldout', 'parenthetical', ['and']),
  f('and/caps-and', 'and', '{A} AND {B}', 'heldout', 'punctuation-case'),
  // OR, train (7)
  f('or/or', 'or', '{A} or {B}', 'train', 'connective'),
  f('or/either-or', 'or', 'either {A} or {B}', 'train', 'connective'),
  f('or/or-else', 'or', '{A}, or else {B}', 'train', 'connective'),
  f('or/alternatively', 'or', '{A}, alternatively {B}', 'train', 'connective'),
  f('or/or-maybe', 'or', '{A} or maybe {B}', 'train', 'connective'),
  f('or/slash', 'or', '{A} / {B}', 'train', 'punctuation-case'),
  f('or/semicolon-or', 'or', '{A}; or {B}', 'train', 'punctuation-case', ['or']),
  // OR, held out (5)
  f('or/otherwise', 'or', '{A}, otherwise {B}', 'heldout', 'connective'),
  f('or/whether-or', 'or', 'whether {A} or {B}', 'heldout', 'connective'),
  f('or/and-or', 'or', '{A} and/or {B}', 'heldout', 'punctuation-case'),
  f('or/paren-or', 'or', '{A} (or {B})', 'heldout', 'parenthetical', ['or']),
  f('or/caps-or', 'or', '{A} OR {B}', 'heldout', 'punctuation-case'),
];

/** The families of one split (and operator). */
export function familiesOf(split: PhrasingFamily['split'] | 'all', op?: BoolOperator): PhrasingFamily[] {
  return PHRASING_FAMILIES.filter((x) => (split === 'all' || x.split === split) && (op === undefined || x.op === op));
}

export function familyById(id: string): PhrasingFamily {
  const x = PHRASING_FAMILIES.find((y) => y.id === id);
  if (!x) throw new InputError(`Unknown phrasing family "${id}"; known: ${PHRASING_FAMILIES.map((y) => y.id).join(', ')}.`);
  return x;
}

/**
 * Punctuation / case augmentations applied to a rendered query's connective pieces only (the
 * claims are left as they are): the training side of "heavy phrasing augmentation".
 */
export const AUGMENTATIONS = ['none', 'upper', 'drop-commas', 'comma-to-semicolon', 'comma-to-dash', 'final-period', 'final-question'] as const;
export type Augmentation = (typeof AUGMENTATIONS)[number];

/** Applies an augmentation to composed segments (connectives only; segments still concatenate to the text). */
export function augment(segments: readonly Segment[], kind: Augmentation): { text: string; segments: Segment[] } {
  let out = segments.map((s) => ({ ...s }));
  const cue = (fn: (t: string) => string): void => {
    out = out.map((s) => (s.role === 'cue' ? { ...s, text: fn(s.text) } : s));
  };
  if (kind === 'upper') cue((t) => t.toUpperCase());
  else if (kind === 'drop-commas') cue((t) => t.replace(/,/gu, ''));
  else if (kind === 'comma-to-semicolon') cue((t) => t.replace(/,/gu, ';'));
  else if (kind === 'comma-to-dash') cue((t) => t.replace(/,/gu, ' -'));
  else if (kind === 'final-period' || kind === 'final-question') out.push({ text: kind === 'final-period' ? '.' : '?', role: 'cue', op: segments.find((s) => s.op)?.op ?? 'and' });
  out = out.filter((s) => s.text !== '');
  return { text: out.map((s) => s.text).join(''), segments: out };
}

/** Renders a family with two claims. */
export function renderFamily(family: PhrasingFamily, a: string, b: string, augmentation: Augmentation = 'none'): { text: string; segments: Segment[] } {
  const c = compose(family, a, b);
  return augmentation === 'none' ? c : augment(c.segments, augmentation);
}

/**
 * Which tokens of a connective piece are the cue proper: splits the piece on whitespace,
 * tokenises each chunk, and marks the alphabetic word pieces (and symbol connectives: & / + |) of
 * chunks whose word (letters and apostrophes, lowercased) is among `cueWords` (every chunk when
 * `cueWords` is absent).
 */
export function cueTokenMask(text: string, cueWords: readonly string[] | undefined, tokenize: (s: string) => Int32Array, idToToken: (id: number) => string | undefined): boolean[] {
  const mask: boolean[] = [];
  const words = cueWords?.map((w) => w.toLowerCase());
  for (const chunk of text.split(/\s+/u)) {
    if (!chunk) continue;
    const word = chunk.toLowerCase().replace(/[^a-z']/gu, '');
    const isCue = words === undefined || words.includes(word);
    for (const id of tokenize(chunk)) mask.push(isCue && /^(##)?[a-z]|^[&/+|]$/u.test(idToToken(id) ?? ''));
  }
  return mask;
}
