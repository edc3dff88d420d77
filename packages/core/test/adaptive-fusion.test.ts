import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  FUSION_FEATURES,
  InputError,
  MemoryDocStore,
  Pipeline,
  PluginRegistry,
  adaptiveRankFusion,
  definePlugin,
  fusionFeatures,
  parsePipelineConfig,
  reciprocalRankFusion,
  z,
  type Hit,
  type Query,
  type Retriever,
} from '../src/index.js';

const hits = (ids: string, scores?: number[]): Hit[] => ids.split(' ').map((id, i) => ({ id, score: scores?.[i] ?? 10 - i }));

describe('fusionFeatures', () => {
  it('measures agreement between the lists and the shape of each score list', () => {
    const anchor = hits('a b c d', [8, 4, 2, 2]);
    const other = hits('c a x y', [0.9, 0.5, 0.5, 0.1]);
    const f = fusionFeatures(anchor, other);
    expect(Object.keys(f).sort()).toEqual([...FUSION_FEATURES].sort());
    // anchor scores: mean 4, std sqrt((16+0+4+4)/4) = sqrt(6)
    expect(f.anchorTop1).toBe(8);
    expect(f.anchorZ1).toBeCloseTo(4 / Math.sqrt(6), 12);
    expect(f.anchorMargin).toBeCloseTo(4 / Math.sqrt(6), 12);
    // other scores: mean 0.5, std sqrt((0.16+0+0+0.16)/4) = sqrt(0.08)
    expect(f.otherTop1).toBe(0.9);
    expect(f.otherZ1).toBeCloseTo(0.4 / Math.sqrt(0.08), 12);
    expect(f.otherMargin).toBeCloseTo(0.4 / Math.sqrt(0.08), 12);
    expect(f.overlap10).toBeCloseTo(0.2, 12); // a and c, out of 10 slots
    expect(f.anchorTopInOther).toBe(1 / 2); // a is 2nd in other
    expect(f.otherTopInAnchor).toBe(1 / 3); // c is 3rd in anchor
    expect(f.anchorTop10InOther).toBe(2 / 4);
    expect(f.otherTop10InAnchor).toBe(2 / 4);
  });

  it('gives 0 for what an empty or flat list cannot say', () => {
    const f = fusionFeatures(hits('a b', [1, 1]), []);
    expect(f).toMatchObject({ anchorZ1: 0, anchorMargin: 0, otherTop1: 0, otherZ1: 0, overlap10: 0, anchorTopInOther: 0, otherTopInAnchor: 0, otherTop10InAnchor: 0 });
  });
});

describe('adaptiveRankFusion', () => {
  const bm25 = hits('a b c d e');
  const dense = hits('e d x a y', [0.9, 0.8, 0.7, 0.6, 0.5]);

  it('with trust 1/2 ranks exactly as plain RRF; with trust near 0 it keeps the anchor order', () => {
    const half = adaptiveRankFusion([bm25, dense], { intercept: 0 });
    expect(half.trace.weights).toEqual([0.5, 0.5]);
    expect(half.hits.map((h) => h.id)).toEqual(reciprocalRankFusion([bm25, dense]).map((h) => h.id));
    const low = adaptiveRankFusion([bm25, dense], { intercept: -8 });
    expect(low.trace.trust[1]).toBeLessThan(0.001);
    expect(low.hits.slice(0, 5).map((h) => h.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    const high = adaptiveRankFusion([bm25, dense], { intercept: 8 });
    expect(high.hits.slice(0, 5).map((h) => h.id)).toEqual(['e', 'd', 'x', 'a', 'y']);
  });

  it('sets the weight per query from the features: trust = σ(intercept + Σ c·feature)', () => {
    const model = { intercept: -2, coefficients: { otherTop1: 3, anchorTopInOther: 1 } };
    const sure = adaptiveRankFusion([bm25, dense], model);
    const f = sure.trace.features[1]!;
    expect(sure.trace.trust[1]).toBeCloseTo(1 / (1 + Math.exp(-(-2 + 3 * 0.9 + 1 * f.anchorTopInOther))), 12);
    // The same dense list with a low best score (an unsure encoder) gets less weight.
    const unsure = adaptiveRankFusion([bm25, dense.map((h) => ({ ...h, score: h.score / 4 }))], model);
    expect(unsure.trace.trust[1]!).toBeLessThan(sure.trace.trust[1]!);
    expect(sure.trace.weights[0]! + sure.trace.weights[1]!).toBeCloseTo(1, 12);
    expect(sure.trace.trust[0]).toBeNull();
    expect(sure.trace.features[0]).toBeNull();
  });

  it('anchors any ranking and splits the trust among several others', () => {
    const third = hits('c e a');
    const { trace } = adaptiveRankFusion([dense, bm25, third], { intercept: 0, anchor: 1 });
    expect(trace.weights).toEqual([0.25, 0.5, 0.25]);
    expect(trace.trust).toEqual([0.5, null, 0.5]);
  });

  it('rejects an unknown feature, a non-finite coefficient and an anchor out of range', () => {
    expect(() => adaptiveRankFusion([bm25, dense], { intercept: 0, coefficients: { otherTop2: 1 } as never })).toThrow(/Unknown adaptive fusion feature "otherTop2"/);
    expect(() => adaptiveRankFusion([bm25, dense], { intercept: 0, coefficients: { otherTop1: Number.NaN } })).toThrow(InputError);
    expect(() => adaptiveRankFusion([bm25, dense], { intercept: 0, anchor: 2 })).toThrow(/anchor/);
  });
});

/** Test-only retriever returning a fixed list whatever the query. */
const fixed = definePlugin({
  kind: 'retriever',
  name: 'fixed',
  description: 'fixed list',
  schema: z.object({ ids: z.string(), scale: z.number().default(1) }),
  create: async (o) => {
    const list = hits(o.ids).map((h) => ({ ...h, score: h.score * o.scale }));
    const r: Retriever = {
      name: 'fixed',
      search: async (_q: Query | string, s) => list.slice(0, s?.k ?? 10),
      searchBatch: async (qs, s) => qs.map(() => list.slice(0, s?.k ?? 10)),
    };
    return r;
  },
});

describe('adaptive fusion in a pipeline', () => {
  const docs = new MemoryDocStore('a b c d e x y'.split(' ').map((id) => ({ id, text: id })));
  const registry = new PluginRegistry().register(fixed);
  const config = {
    retrievers: [
      { plugin: 'fixed', options: { ids: 'a b c d e' } },
      { plugin: 'fixed', options: { ids: 'e d x a y', scale: 0.1 } },
    ],
    fusion: { method: 'adaptive' as const, intercept: -1, coefficients: { otherTop1: 2 } },
    depth: 5,
  };

  it('validates the fusion entry (defaults, unknown features, anchor) at the boundary', () => {
    const parsed = parsePipelineConfig(config);
    expect(parsed.fusion).toEqual({ method: 'adaptive', k: 60, anchor: 0, intercept: -1, coefficients: { otherTop1: 2 } });
    expect(() => parsePipelineConfig({ ...config, fusion: { method: 'adaptive', intercept: 0, coefficients: { otherTopp1: 1 } } })).toThrow(ConfigError);
    expect(() => parsePipelineConfig({ ...config, fusion: { method: 'adaptive', intercept: 0, anchor: 2 } })).toThrow(/fusion\.anchor: anchor 2 names no retriever \(the pipeline has 2\)/);
    expect(() => parsePipelineConfig({ ...config, fusion: { method: 'adaptive' } })).toThrow(/fusion\.intercept/);
  });

  it("puts each query's weights, trust and features in every hit's explain", async () => {
    const p = await Pipeline.build(config, registry, { docs });
    const top = await p.search('anything', { k: 3 });
    const trace = top[0]!.explain!['fusion'] as { method: string; weights: number[]; trust: (number | null)[]; features: ({ otherTop1: number } | null)[] };
    // The second list's best score is 10 * 0.1 = 1: trust = σ(-1 + 2 · 1).
    const trust = 1 / (1 + Math.exp(-1));
    expect(trace.method).toBe('adaptive');
    expect(trace.trust[1]).toBeCloseTo(trust, 12);
    expect(trace.weights[0]).toBeCloseTo(1 - trust, 12);
    expect(trace.features[1]!.otherTop1).toBeCloseTo(1, 12);
    expect(top.every((h) => h.explain?.['fusion'] === trace)).toBe(true);
    expect(top.map((h) => h.id)).toEqual(
      adaptiveRankFusion([hits('a b c d e'), hits('e d x a y').map((h) => ({ ...h, score: h.score * 0.1 }))], { intercept: -1, coefficients: { otherTop1: 2 }, limit: 3 }).hits.map((h) => h.id),
    );
  });
});
