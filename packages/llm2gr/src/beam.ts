import { InputError, checkOptions, runtimeOptionsShape, throwIfAborted, z, type NextTokenScorer } from '@quarry/core';

/**
 * Optional capability of a scorer that cannot return a full next-token distribution (a
 * remote server): log-probabilities of the allowed tokens only, in the order given.
 */
export interface AllowedTokenScorer {
  allowedLogProbs(prefixes: readonly (readonly number[])[], allowed: readonly Int32Array[], signal?: AbortSignal): Promise<Float32Array[]>;
}

export function isAllowedTokenScorer(value: unknown): value is AllowedTokenScorer {
  return typeof value === 'object' && value !== null && typeof (value as AllowedTokenScorer).allowedLogProbs === 'function';
}

/** What limits generation: the allowed next tokens in a state, and whether a sequence may end there. */
export interface DecodingConstraint<S> {
  /** Allowed next tokens and the state after each (same order). */
  next(state: S): { tokens: Int32Array; states: S[] };
  /** Whether the sequence generated so far is a complete answer (a whole title, a full-length prefix). */
  canEnd(state: S, length: number): boolean;
}

export interface BeamSearchOptions {
  beamSize: number;
  /** Hard cap on generated tokens (the end token not counted). */
  maxTokens: number;
  /**
   * Token the model emits to end a complete sequence (e.g. "\n" after a title); its
   * log-probability is part of the score. Undefined: a complete sequence ends for free.
   */
  endToken?: number;
  /** Log-probability for allowed tokens the scorer's vocabulary lacks (default -Infinity: never generated). */
  outOfVocabLogProb?: number;
  signal?: AbortSignal;
}

// Strict (issue #15 item 13): a misspelled key is a ConfigError naming the closest valid one. Value
// ranges stay InputErrors below; the search runs a few times per query, so zod here costs nothing noticeable.
const beamSearchOptionsSchema = z.strictObject({
  beamSize: z.number(),
  maxTokens: z.number(),
  endToken: z.number().optional(),
  outOfVocabLogProb: z.number().optional(),
  signal: runtimeOptionsShape.signal,
});

export interface Hypothesis<S> {
  tokens: number[];
  state: S;
  /** Sum of log-probabilities (end token included when one is scored). */
  logProb: number;
  /** Tokens the sum runs over. */
  length: number;
  /** logProb / length: the length-normalised score that ranks results. */
  score: number;
}

interface Beam<S> {
  tokens: number[];
  state: S;
  logProb: number;
}

/**
 * Beam search where every step may only pick tokens the constraint allows. Candidates are
 * ranked by cumulative log-probability while searching (as Hugging Face's beam search); a
 * finished sequence is kept when it ranks among the step's `beamSize` best candidates, and
 * the search stops once `beamSize` sequences have finished or no beam can go on. Results
 * are sorted by length-normalised log-probability.
 */
export async function constrainedBeamSearch<S>(
  scorer: NextTokenScorer | (NextTokenScorer & AllowedTokenScorer),
  prompt: readonly number[],
  constraint: DecodingConstraint<S>,
  start: S,
  options: BeamSearchOptions,
): Promise<Hypothesis<S>[]> {
  checkOptions(beamSearchOptionsSchema, options, 'constrainedBeamSearch options');
  const { beamSize, maxTokens, endToken, signal } = options;
  if (!Number.isInteger(beamSize) || beamSize < 1) throw new InputError(`beamSize must be an integer >= 1, got ${beamSize}.`);
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new InputError(`maxTokens must be a non-negative integer, got ${maxTokens}.`);
  const oov = options.outOfVocabLogProb ?? -Infinity;
  const finished: Hypothesis<S>[] = [];
  let alive: Beam<S>[] = [{ tokens: [], state: start, logProb: 0 }];
  const finish = (b: Beam<S>, extra: number, extraLen: number): void => {
    const length = b.tokens.length + extraLen;
    const logProb = b.logProb + extra;
    finished.push({ tokens: b.tokens, state: b.state, logProb, length, score: length === 0 ? 0 : logProb / length });
  };

  while (alive.length > 0 && finished.length < beamSize) {
    throwIfAborted(signal, 'constrained decoding');
    const nexts = alive.map((b) => (b.tokens.length < maxTokens ? constraint.next(b.state) : { tokens: new Int32Array(0), states: [] as S[] }));
    const ends = alive.map((b) => constraint.canEnd(b.state, b.tokens.length));
    const needs = alive.map((_, i) => nexts[i]!.tokens.length > 0 || (ends[i]! && endToken !== undefined));
    const idx = alive.flatMap((_, i) => (needs[i] ? [i] : []));
    const prefixes = idx.map((i) => [...prompt, ...alive[i]!.tokens]);
    let scores: Float32Array[] = [];
    let allowedMode = false;
    if (idx.length) {
      if ('allowedLogProbs' in scorer && typeof scorer.allowedLogProbs === 'function') {
        allowedMode = true;
        const allowed = idx.map((i) => (endToken !== undefined && ends[i] ? Int32Array.from([...nexts[i]!.tokens, endToken]) : nexts[i]!.tokens));
        scores = await scorer.allowedLogProbs(prefixes, allowed, signal);
      } else {
        scores = await scorer.nextTokenLogProbs(prefixes, signal);
      }
    }
    const lpOf = new Map<number, (t: number, j: number) => number>();
    idx.forEach((i, k) => {
      const s = scores[k]!;
      lpOf.set(i, allowedMode ? (_t, j) => s[j] ?? -Infinity : (t) => (t < s.length ? s[t]! : oov));
    });

    // Candidates: (beam, choice) with cumulative log-probability; choice -1 = end here.
    const cand: { beam: number; choice: number; logProb: number }[] = [];
    alive.forEach((b, i) => {
      const lp = lpOf.get(i);
      const next = nexts[i]!;
      if (ends[i]) {
        if (endToken === undefined) cand.push({ beam: i, choice: -1, logProb: b.logProb });
        else {
          const v = lp!(endToken, next.tokens.length);
          if (v > -Infinity) cand.push({ beam: i, choice: -1, logProb: b.logProb + v });
        }
      }
      for (let j = 0; j < next.tokens.length; j++) {
        const v = lp!(next.tokens[j]!, j);
        if (v > -Infinity && !Number.isNaN(v)) cand.push({ beam: i, choice: j, logProb: b.logProb + v });
      }
    });
    cand.sort((a, b) => b.logProb - a.logProb || a.beam - b.beam || a.choice - b.choice);
    const nextAlive: Beam<S>[] = [];
    for (const c of cand) {
      if (nextAlive.length >= beamSize || finished.length >= beamSize) break;
      const b = alive[c.beam]!;
      if (c.choice === -1) finish(b, c.logProb - b.logProb, endToken === undefined ? 0 : 1);
      else nextAlive.push({ tokens: [...b.tokens, nexts[c.beam]!.tokens[c.choice]!], state: nexts[c.beam]!.states[c.choice]!, logProb: c.logProb });
    }
    alive = nextAlive;
  }
  return finished.sort((a, b) => b.score - a.score || b.logProb - a.logProb).slice(0, beamSize);
}
