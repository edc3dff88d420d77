// Phrasing families (issue #19): enough families per operator, a committed train / held-out split by
// family, renderings whose pieces tokenise like the whole query, and the lexicon channels.
// Reproduce: cd packages/bool-attn && npx vitest run test/families.test.ts
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bundledModelDir, loadOwnModel } from '@quarry/encoders';
import { AUGMENTATIONS, LEXICON_FEATURES, PHRASING_FAMILIES, cueTokenMask, familiesOf, lexiconFeatures, renderFamily } from '../src/index.js';

describe('phrasing families', () => {
  it('has at least 20 NOT and 10 AND / OR families, with held-out families for each operator', () => {
    expect(familiesOf('all', 'not').length).toBeGreaterThanOrEqual(20);
    expect(familiesOf('all', 'and').length).toBeGreaterThanOrEqual(10);
    expect(familiesOf('all', 'or').length).toBeGreaterThanOrEqual(10);
    expect(new Set(PHRASING_FAMILIES.map((f) => f.id)).size).toBe(PHRASING_FAMILIES.length);
    expect(new Set(PHRASING_FAMILIES.map((f) => f.pattern)).size).toBe(PHRASING_FAMILIES.length);
    for (const op of ['not', 'and', 'or'] as const) expect(familiesOf('heldout', op).length).toBeGreaterThanOrEqual(5);
    // Every kind of variation the issue names is present for NOT.
    expect(new Set(familiesOf('all', 'not').map((f) => f.kind))).toEqual(new Set(['connective', 'negated-verb', 'exclusion-clause', 'parenthetical', 'clause-order', 'punctuation-case']));
  });

  it('keeps the committed split: the held-out families are exactly these', () => {
    expect(familiesOf('heldout').map((f) => f.id)).toEqual([
      'not/not-interested',
      'not/rather-than',
      'not/exclude-anything',
      'not/minus',
      'not/only-no',
      'not/dont-include',
      'not/instead-of-first',
      'not/paren-but-not',
      'not/apart-from',
      'not/semicolon-caps-not',
      'not/b-not-relevant-first',
      'and/along-with',
      'and/in-addition-to',
      'and/ampersand',
      'and/paren-and',
      'and/caps-and',
      'or/otherwise',
      'or/whether-or',
      'or/and-or',
      'or/paren-or',
      'or/caps-or',
    ]);
  });

  it('renders pieces that concatenate to the text and tokenise like it; cue words are found in the connective', async () => {
    const enc = await loadOwnModel(bundledModelDir('scifact-static'));
    const word = fc.stringMatching(/^[A-Za-z0-9-]{1,10}$/u);
    const clause = fc.array(word, { minLength: 1, maxLength: 6 }).map((w) => `${w.join(' ')}.`);
    fc.assert(
      fc.property(fc.constantFrom(...PHRASING_FAMILIES), fc.constantFrom(...AUGMENTATIONS), clause, clause, (f, aug, a, b) => {
        const { text, segments } = renderFamily(f, a, b, aug);
        expect(segments.map((s) => s.text).join('')).toBe(text);
        const parts = segments.flatMap((s) => [...enc.tokenize(s.text, 'query')]);
        expect(parts).toEqual([...enc.tokenize(text, 'query')]);
        const cueTokens = segments
          .filter((s) => s.role === 'cue')
          .flatMap((s) =>
            cueTokenMask(
              s.text,
              f.cueWords,
              (x) => enc.tokenize(x, 'query'),
              (id) => enc.tokenizer.idToToken(id),
            ),
          );
        expect(cueTokens.some(Boolean), `${f.id}: ${text}`).toBe(true);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('marks only the cue words of a connective with filler', async () => {
    const enc = await loadOwnModel(bundledModelDir('scifact-static'));
    const tok = (x: string) => enc.tokenize(x, 'query');
    const idToToken = (id: number) => enc.tokenizer.idToToken(id);
    expect(cueTokenMask('; I am not interested in ', ['not'], tok, idToToken)).toEqual([false, false, false, true, false, false]);
    expect(cueTokenMask(", but don't include ", ["don't"], tok, idToToken)).toEqual([false, false, true, false, true, false]);
  });
});

describe('lexicon features', () => {
  it('marks negation, conjunction, disjunction and contrast words and clause punctuation', () => {
    const toks = ['statins', ',', 'but', 'don', "'", 't', 'include', 'di', '##abetes', 'minus', 'mice', 'or', 'rats', ';', 'and', 'no', 'cancer'];
    const f = lexiconFeatures(toks);
    const ch = (t: number) => Array.from(f.subarray(t * LEXICON_FEATURES, (t + 1) * LEXICON_FEATURES));
    expect(ch(0)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ch(1)).toEqual([0, 0, 0, 0, 1, 0]);
    expect(ch(2)).toEqual([0, 0, 0, 1, 0, 0]);
    expect(ch(3)[0]).toBe(1); // don
    expect(ch(5)[0]).toBe(1); // the t of don ' t
    expect(ch(7)).toEqual([0, 0, 0, 0, 0, 0]); // word pieces of a non-cue word
    expect(ch(9)[0]).toBe(1); // minus
    expect(ch(11)[2]).toBe(1); // or
    expect(ch(13)[5]).toBe(1); // ;
    expect(ch(14)[1]).toBe(1); // and
    expect(ch(15)[0]).toBe(1); // no
  });
});
