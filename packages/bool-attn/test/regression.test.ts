// Pyserini-style regression: the shipped Boolean modules (models/scifact-bool) on the Boolean
// benchmark's test split, per operator, against the same encoder without the modules.
// Reproduce: cd packages/bool-attn && npx vitest run test/regression.test.ts
// (figures also printed by `node bench/quality.mjs` after `npx tsup`).
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, loadSplit, openBeirDataset, readCorpus, type Doc } from '@quarry/core';
import { BoolRetriever, bundledBoolModelDir, loadBoolEncoder, type BoolQueryEncoder } from '../src/index.js';

const BENCH = fileURLToPath(new URL('../benchmark/scifact-bool', import.meta.url));
const dataset = openBeirDataset(BENCH);
let encoder: BoolQueryEncoder;
let bool: BoolRetriever;
let base: BoolRetriever;

beforeAll(async () => {
  const docs: Doc[] = [];
  for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
  encoder = await loadBoolEncoder(bundledBoolModelDir());
  bool = await BoolRetriever.fromDocs(docs, encoder);
  base = new BoolRetriever(encoder.asBaseline(), bool.ids, bool.vectors, { name: 'bool-baseline' });
});

async function score(r: BoolRetriever, split: string): Promise<{ mrr: number; ndcg: number }> {
  const { queries, qrels } = await loadSplit(dataset, split);
  const hits = await r.searchBatch(queries, { k: 100 });
  const m = evaluate(new Map(queries.map((q, i) => [q.id, hits[i]!])), qrels, ['mrr@10', 'ndcg@10']).metrics;
  return { mrr: m['mrr@10']!, ndcg: m['ndcg@10']! };
}

// [split, baseline MRR@10, baseline nDCG@10, Boolean MRR@10, Boolean nDCG@10]
const PINNED: [string, number, number, number, number][] = [
  ['test-not', 0.4182, 0.4845, 0.6858, 0.7256],
  ['test-and', 0.7414, 0.7861, 0.7312, 0.7784],
  ['test-or', 0.8564, 0.742, 0.8526, 0.7342],
  ['test-plain', 0.7596, 0.7913, 0.747, 0.7796],
];

describe('scifact-bool test split, per operator (own static encoder, exact search)', () => {
  it.each(PINNED)('%s', async (split, bMrr, bNdcg, mrr, ndcg) => {
    const b = await score(base, split);
    const m = await score(bool, split);
    expect(b.mrr).toBeCloseTo(bMrr, 4);
    expect(b.ndcg).toBeCloseTo(bNdcg, 4);
    expect(m.mrr).toBeCloseTo(mrr, 4);
    expect(m.ndcg).toBeCloseTo(ndcg, 4);
  });

  it('meets the NOT goal (>= +20% relative MRR@10)', () => {
    const not = PINNED.find((r) => r[0] === 'test-not')!;
    expect(not[3] / not[1]).toBeGreaterThanOrEqual(1.2);
  });

  it('adds few parameters to the base encoder', () => {
    const c = encoder.base.model.config;
    expect(encoder.modules.size).toBe(7549);
    expect(encoder.modules.size / (c.rows * c.dim + c.rows)).toBeLessThan(0.01);
  });
});

describe('explanations', () => {
  it('a NOT query: the cue is found and its scope is the excluded claim', () => {
    const e = encoder.explain('Statins reduce cardiovascular events but not statins increase the risk of diabetes.');
    const not = e.cues.filter((c) => c.op === 'not');
    expect(not.map((c) => c.token)).toContain('not');
    const scope = new Set(not.flatMap((c) => c.scope.map((s) => s.token)));
    for (const w of ['increase', 'risk', 'diabetes']) expect(scope.has(w), w).toBe(true);
    for (const w of ['reduce', 'cardiovascular']) expect(scope.has(w), w).toBe(false);
    expect(e.gates.not).toBeGreaterThan(0.5);
    const weight = (tok: string) => e.tokens.find((t) => t.token === tok)!.weight;
    expect(weight('diabetes')).toBeLessThan(0.5);
    expect(weight('cardiovascular')).toBeGreaterThan(0.8);
  });

  it('a plain claim: no cue, weights near 1', () => {
    const e = encoder.explain('Vitamin D supplementation reduces the risk of hip fractures in older adults.');
    expect(e.cues).toEqual([]);
    for (const t of e.tokens) expect(Math.abs(t.weight - 1)).toBeLessThan(0.2);
  });
});
