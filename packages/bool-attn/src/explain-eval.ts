import { readFile } from 'node:fs/promises';
import { InputError } from '@quarry/core';
import { OPERATORS, type BoolOperator } from './compose.js';
import type { BoolQueryEncoder } from './encoder.js';

/** One hand-checked query with gold cue and scope spans (character offsets, end exclusive). */
export interface GoldExplanation {
  id: string;
  op: BoolOperator | 'none';
  text: string;
  cues: [number, number][];
  scope: [number, number][];
  marked?: string;
}

/** Precision / recall counts of one comparison. */
export interface PrCounts {
  tp: number;
  predicted: number;
  gold: number;
  precision: number;
  recall: number;
}

export interface ExplanationScores {
  queries: number;
  /**
   * Cue words: a predicted cue word (any of its word pieces a cue with prob >= 0.5) is correct when
   * it lies in a gold cue span of the same operator; recall counts gold cue spans with at least one
   * word predicted as a cue of their operator.
   */
  cue: PrCounts;
  cueByOp: Record<BoolOperator, PrCounts>;
  /** Scope words (union of the detected cues' scopes of the gold operator, cue words left out) vs gold scope words, micro-averaged. */
  scopeByOp: Record<BoolOperator, PrCounts>;
  /**
   * NOT queries, pooling weights: mean weight of gold-scope words (should fall to ~0 or below) and of
   * the other content words (should stay ~1), and how many other words fell below 0.75 (scope leaking
   * outside the excluded topic).
   */
  notWeights: { scope: number; outside: number; leakedWords: number; outsideWords: number };
  /** Queries whose gate of the gold operator is >= 0.5 and every other gate < 0.5 (none: all gates < 0.5). */
  gateAccuracy: number;
  perQuery: { id: string; op: string; cueWords: string[]; goldCue: string[]; scopeWords: string[]; goldScope: string[]; gates: Record<BoolOperator, number> }[];
}

/** Reads a gold explanation file (`benchmark/explain-gold.json`). */
export async function readGoldExplanations(file: string): Promise<GoldExplanation[]> {
  const o = JSON.parse(await readFile(file, 'utf8')) as { queries?: GoldExplanation[] };
  if (!Array.isArray(o.queries)) throw new InputError(`${file} has no "queries" array.`);
  return o.queries;
}

const pr = (tp: number, predicted: number, gold: number): PrCounts => ({ tp, predicted, gold, precision: predicted ? tp / predicted : 1, recall: gold ? tp / gold : 1 });

/** Scores `explain` against gold cue and scope spans, at the level of words (BERT pre-tokens, punctuation left out). */
export function scoreExplanations(encoder: BoolQueryEncoder, gold: readonly GoldExplanation[]): ExplanationScores {
  let cueTp = 0;
  let cuePred = 0;
  let spanHit = 0;
  let spans = 0;
  const byOp = Object.fromEntries(OPERATORS.map((o) => [o, { tp: 0, pred: 0, hit: 0, spans: 0, sTp: 0, sPred: 0, sGold: 0 }])) as Record<
    BoolOperator,
    { tp: number; pred: number; hit: number; spans: number; sTp: number; sPred: number; sGold: number }
  >;
  let gatesRight = 0;
  const nw = { scope: 0, scopeN: 0, outside: 0, outsideN: 0, leaked: 0 };
  const perQuery: ExplanationScores['perQuery'] = [];
  for (const g of gold) {
    // Words with their character spans and the token positions they cover.
    const words: { text: string; start: number; end: number; tokens: number[] }[] = [];
    const ids: number[] = [];
    for (const m of g.text.matchAll(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)) {
      const toks = encoder.tokenize(m[0]);
      words.push({ text: m[0], start: m.index, end: m.index + m[0].length, tokens: Array.from(toks, (_, k) => ids.length + k) });
      ids.push(...toks);
    }
    const whole = encoder.tokenize(g.text);
    if (whole.length !== ids.length || whole.some((x, i) => x !== ids[i])) throw new InputError(`${g.id}: words do not tokenise to the query's tokens.`);
    const e = encoder.explain(g.text);
    const inSpans = (w: { start: number; end: number }, s: [number, number][]): number => s.findIndex(([a, b]) => w.start < b && w.end > a);
    const isWord = (w: { text: string }): boolean => /[\p{L}\p{N}]/u.test(w.text);
    const cueOpOfToken = new Map<number, Set<BoolOperator>>();
    for (const c of e.cues) cueOpOfToken.set(c.index, new Set([...(cueOpOfToken.get(c.index) ?? []), c.op]));
    const hitSpans = new Set<number>();
    const cueWords: string[] = [];
    const predictedCue = new Set<number>();
    words.forEach((w, wi) => {
      if (!isWord(w)) return;
      const ops = new Set(w.tokens.flatMap((t) => [...(cueOpOfToken.get(t) ?? [])]));
      if (!ops.size) return;
      predictedCue.add(wi);
      cueWords.push(w.text);
      for (const op of ops) {
        cuePred++;
        byOp[op].pred++;
        const span = inSpans(w, g.cues);
        if (span >= 0 && g.op === op) {
          cueTp++;
          byOp[op].tp++;
          hitSpans.add(span);
        }
      }
    });
    if (g.op !== 'none') {
      spans += g.cues.length;
      spanHit += hitSpans.size;
      byOp[g.op].spans += g.cues.length;
      byOp[g.op].hit += hitSpans.size;
      // Scope: the gold operator's detected cues.
      const scoped = new Set<number>();
      for (const c of e.cues) if (c.op === g.op) for (const s of c.scope) scoped.add(s.index);
      const scopeWords: string[] = [];
      const goldScope: string[] = [];
      words.forEach((w, wi) => {
        if (!isWord(w) || predictedCue.has(wi) || inSpans(w, g.cues) >= 0) return;
        const p = w.tokens.some((t) => scoped.has(t));
        const gs = inSpans(w, g.scope) >= 0;
        if (p) scopeWords.push(w.text);
        if (gs) goldScope.push(w.text);
        byOp[g.op as BoolOperator].sPred += p ? 1 : 0;
        byOp[g.op as BoolOperator].sGold += gs ? 1 : 0;
        byOp[g.op as BoolOperator].sTp += p && gs ? 1 : 0;
      });
      if (g.op === 'not')
        words.forEach((w) => {
          if (!isWord(w) || inSpans(w, g.cues) >= 0) return;
          const weight = w.tokens.reduce((a, t) => a + e.tokens[t]!.weight, 0) / w.tokens.length;
          if (inSpans(w, g.scope) >= 0) {
            nw.scope += weight;
            nw.scopeN++;
          } else {
            nw.outside += weight;
            nw.outsideN++;
            if (weight < 0.75) nw.leaked++;
          }
        });
      perQuery.push({ id: g.id, op: g.op, cueWords, goldCue: g.cues.map(([a, b]) => g.text.slice(a, b)), scopeWords, goldScope, gates: e.gates });
    } else perQuery.push({ id: g.id, op: g.op, cueWords, goldCue: [], scopeWords: [], goldScope: [], gates: e.gates });
    const right = OPERATORS.every((o) => e.gates[o] >= 0.5 === (g.op === o));
    if (right) gatesRight++;
  }
  return {
    queries: gold.length,
    cue: { ...pr(cueTp, cuePred, spans), recall: spans ? spanHit / spans : 1 },
    cueByOp: Object.fromEntries(OPERATORS.map((o) => [o, { ...pr(byOp[o].tp, byOp[o].pred, byOp[o].spans), recall: byOp[o].spans ? byOp[o].hit / byOp[o].spans : 1 }])) as Record<
      BoolOperator,
      PrCounts
    >,
    scopeByOp: Object.fromEntries(OPERATORS.map((o) => [o, pr(byOp[o].sTp, byOp[o].sPred, byOp[o].sGold)])) as Record<BoolOperator, PrCounts>,
    notWeights: { scope: nw.scope / Math.max(1, nw.scopeN), outside: nw.outside / Math.max(1, nw.outsideN), leakedWords: nw.leaked, outsideWords: nw.outsideN },
    gateAccuracy: gatesRight / Math.max(1, gold.length),
    perQuery,
  };
}
