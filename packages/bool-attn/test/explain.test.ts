// Explanations against a hand-checked gold set (benchmark/explain-gold.json: >= 100 queries with
// gold cue and scope spans), and the four `quarry bool explain` failures quoted in issue #19.
// Reproduce: cd packages/bool-attn && npx vitest run test/explain.test.ts (figures also printed by
// `node bench/explain.mjs` after `npx tsup`).
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledBoolModelDir, loadBoolEncoder, readGoldExplanations, scoreExplanations, type BoolQueryEncoder, type ExplanationScores, type GoldExplanation } from '../src/index.js';

const GOLD = fileURLToPath(new URL('../benchmark/explain-gold.json', import.meta.url));
let encoder: BoolQueryEncoder;
let gold: GoldExplanation[];
let scores: ExplanationScores;

beforeAll(async () => {
  encoder = await loadBoolEncoder(bundledBoolModelDir());
  gold = await readGoldExplanations(GOLD);
  scores = scoreExplanations(encoder, gold);
});

describe('the gold set', () => {
  it('holds >= 100 queries with valid cue and scope spans for every operator', () => {
    expect(gold.length).toBeGreaterThanOrEqual(100);
    expect(new Set(gold.map((g) => g.id)).size).toBe(gold.length);
    for (const op of ['not', 'and', 'or', 'none']) expect(gold.filter((g) => g.op === op).length, op).toBeGreaterThanOrEqual(op === 'none' ? 10 : 20);
    for (const g of gold) {
      if (g.op === 'none') expect(g.cues).toEqual([]);
      else {
        expect(g.cues.length, g.id).toBeGreaterThan(0);
        expect(g.scope.length, g.id).toBeGreaterThan(0);
      }
      for (const [a, b] of [...g.cues, ...g.scope]) {
        expect(a).toBeGreaterThanOrEqual(0);
        expect(b).toBeGreaterThan(a);
        expect(b).toBeLessThanOrEqual(g.text.length);
        expect(g.text.slice(a, b).trim(), g.id).toBe(g.text.slice(a, b));
      }
      // The markup the spans were written in reproduces them.
      expect(g.marked!.replace(/[{}[\]]/gu, '')).toBe(g.text);
      for (const [a, b] of g.cues) expect(g.marked!.includes(`{${g.text.slice(a, b)}}`), `${g.id} cue`).toBe(true);
      for (const [a, b] of g.scope) expect(g.marked!.includes(`[${g.text.slice(a, b)}]`), `${g.id} scope`).toBe(true);
    }
  });
});

describe('cue and scope precision / recall of the shipped modules (pinned)', () => {
  // [op, cue precision, cue recall (spans), scope precision, scope recall]
  const PINNED: [string, number, number, number, number][] = [
    ['not', 0.775, 0.893, 0.74, 0.855],
    ['and', 1, 0.5, 0.702, 0.589],
    ['or', 0.944, 0.682, 0.653, 0.653],
  ];

  it('NOT queries: the excluded topic leaves the query, the rest stays (mean pooling weights)', () => {
    expect(scores.notWeights.scope).toBeLessThan(0.25);
    expect(scores.notWeights.outside).toBeGreaterThan(0.75);
  });

  it.each(PINNED)('%s', (op, cp, cr, sp, sr) => {
    const c = scores.cueByOp[op as 'not'];
    const s = scores.scopeByOp[op as 'not'];
    expect(c.precision).toBeCloseTo(cp, 3);
    expect(c.recall).toBeCloseTo(cr, 3);
    expect(s.precision).toBeCloseTo(sp, 3);
    expect(s.recall).toBeCloseTo(sr, 3);
  });
});

describe('the four explain failures of issue #19', () => {
  const weight = (e: ReturnType<BoolQueryEncoder['explain']>, tok: string) => e.tokens.find((t) => t.token === tok)!.weight;

  it('", not in women": the scope does not leak backwards onto the first claim', () => {
    const e = encoder.explain('mortality after myocardial infarction in older adults, not in women');
    expect(weight(e, 'women')).toBeLessThan(0.5);
    for (const w of ['mortality', 'after', 'older', 'adults']) expect(weight(e, w), w).toBeGreaterThan(0.75);
  });

  it('"I do not want papers about mice": a NOT cue is detected and "mice" leaves the query', () => {
    const e = encoder.explain('metformin and lifespan. I do not want papers about mice');
    expect(e.gates.not).toBeGreaterThan(0.5);
    expect(e.cues.some((c) => c.op === 'not' && c.token === 'not')).toBe(true);
    expect(weight(e, 'mice')).toBeLessThan(0.5);
    expect(weight(e, 'lifespan')).toBeGreaterThan(0.75);
  });

  it('"rather than": a NOT cue is detected and its scope is what follows', () => {
    const e = encoder.explain('aspirin for primary prevention rather than secondary prevention');
    expect(e.gates.not).toBeGreaterThan(0.5);
    const not = e.cues.filter((c) => c.op === 'not');
    expect(not.some((c) => c.token === 'rather' || c.token === 'than')).toBe(true);
    expect(weight(e, 'secondary')).toBeLessThan(0.5);
    expect(weight(e, 'primary')).toBeGreaterThan(0.75);
  });

  it('"aspirin or ibuprofen": the OR gate is on and the AND gate off', () => {
    const e = encoder.explain('aspirin or ibuprofen for postoperative pain');
    expect(e.gates.or).toBeGreaterThan(0.5);
    expect(e.gates.and).toBeLessThan(0.1);
    expect(e.gates.not).toBeLessThan(0.1);
  });
});
