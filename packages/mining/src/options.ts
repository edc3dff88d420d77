import { z } from '@quarry/core';

/**
 * Mining options. Names follow the paper (methods) and sentence-transformers'
 * `mine_hard_negatives` (range/score bounds, sampling), so users of either recognise them.
 */
export const miningOptionsSchema = z
  .object({
    /** Which filter caps the candidates (NV-Retriever, section 3). */
    method: z.enum(['naive', 'shifted', 'abs', 'margin-pos', 'perc-pos']).default('perc-pos'),
    /** shifted: skip the first N non-positive candidates (paper's best N = 10). */
    shift: z.number().int().nonnegative().default(10),
    /** abs: drop candidates scoring above this (paper: 0.7, on a cosine scale). */
    absThreshold: z.number().default(0.7),
    /**
     * Score scale the method compares on. abs and margin-pos use fixed numbers (0.7, 0.05) that
     * only mean something on a bounded scale such as cosine; `minmax-per-query` maps each query's
     * scores (its candidates and positives) to [0, 1] first, so they can be used with unbounded
     * teachers like BM25. Score bounds and written scores stay raw teacher scores.
     */
    normalize: z.enum(['none', 'minmax-per-query']).default('none'),
    /** margin-pos: keep candidates with score < positive - margin (paper: 0.05). */
    margin: z.number().nonnegative().default(0.05),
    /** perc-pos: keep candidates with score < positive * perc (paper's best: 0.95). */
    perc: z.number().gt(0, 'perc must be in (0, 1]').lte(1, 'perc must be in (0, 1]').default(0.95),
    /** Rank window over the teacher's non-positive candidates, [rangeMin, rangeMax). */
    rangeMin: z.number().int().nonnegative().default(0),
    rangeMax: z.number().int().positive().optional(),
    /** Absolute score bounds applied after the method's filter. */
    minScore: z.number().optional(),
    maxScore: z.number().optional(),
    /** Negatives per (query, positive) pair (paper: 4). */
    negatives: z.number().int().positive().default(4),
    /** top: the first n kept; sample: n sampled from the first `sampleFrom` kept; top1-sample: best one + sampled rest. */
    selection: z.enum(['top', 'sample', 'top1-sample']).default('top'),
    sampleFrom: z.number().int().positive().default(10),
    /** How sampled negatives are drawn: uniformly, or with probability softmax(score / temperature) as in the paper. */
    sampling: z.enum(['uniform', 'softmax']).default('softmax'),
    temperature: z.number().positive().default(1),
    /** Non-positive candidates taken from each teacher per query (its top `depth` once positives are removed). */
    depth: z.number().int().positive().default(100),
    seed: z.number().int().default(42),
  })
  // Strict: a misspelled option (`methd: abs`) is an error naming the closest key, not a silent default.
  .strict()
  .superRefine((o, ctx) => {
    if (o.rangeMax !== undefined && o.rangeMax <= o.rangeMin) ctx.addIssue({ code: 'custom', path: ['rangeMax'], message: `rangeMax (${o.rangeMax}) must be greater than rangeMin (${o.rangeMin})` });
    if (o.minScore !== undefined && o.maxScore !== undefined && o.maxScore < o.minScore) ctx.addIssue({ code: 'custom', path: ['maxScore'], message: 'maxScore must be >= minScore' });
    if (o.selection !== 'top' && o.sampleFrom < o.negatives)
      ctx.addIssue({ code: 'custom', path: ['sampleFrom'], message: `sampleFrom (${o.sampleFrom}) must be >= negatives (${o.negatives}) when sampling` });
    if (o.normalize !== 'none' && (o.method === 'naive' || o.method === 'shifted'))
      ctx.addIssue({ code: 'custom', path: ['normalize'], message: `normalize changes only what abs, margin-pos and perc-pos compare; method ${o.method} ignores scores` });
    if (o.depth <= o.rangeMin + (o.method === 'shifted' ? o.shift : 0)) ctx.addIssue({ code: 'custom', path: ['depth'], message: 'depth must exceed the candidates skipped by rangeMin/shift' });
  });

export type MiningOptions = z.output<typeof miningOptionsSchema>;
export type MiningOptionsInput = z.input<typeof miningOptionsSchema>;

/** Names of the filters, as counted in the statistics. */
export const FILTERS = ['positive', 'range', 'method', 'score-bounds'] as const;
export type FilterName = (typeof FILTERS)[number];

/** Methods that compare raw scores with fixed numbers, meaningless on an unbounded scale without `normalize`. */
export const ABSOLUTE_METHODS: readonly MiningOptions['method'][] = ['abs', 'margin-pos'];
