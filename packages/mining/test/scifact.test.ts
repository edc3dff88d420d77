import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, loadSplit, openBeirDataset, readCorpus, readQrels, type Qrels, type Query } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { FalseNegativeOracle, MiningStats, mineBatch, miningOptionsSchema, type MinedExample } from '../src/index.js';

// Real data: SciFact train (809 claims) mined with a BM25 teacher over the bundled corpus.
const dataset = openBeirDataset(join(__dirname, '../../../datasets/scifact'));
let docs: MemoryDocStore;
let teacher: Bm25Index;
let queries: Query[];
let qrels: Qrels;
let oracle: FalseNegativeOracle;

beforeAll(async () => {
  docs = await MemoryDocStore.fromAsync(readCorpus(dataset.corpusFile));
  teacher = await Bm25Index.build(docs);
  ({ queries, qrels } = await loadSplit(dataset, 'train'));
  oracle = new FalseNegativeOracle(await Promise.all(Object.values(dataset.qrelsFiles).map((f) => readQrels(f))));
});

async function mine(method: string, extra: Record<string, unknown> = {}): Promise<{ stats: MiningStats; examples: MinedExample[] }> {
  const stats = new MiningStats();
  const options = miningOptionsSchema.parse({ method, negatives: 4, depth: 30, ...extra });
  const examples = await mineBatch(queries, qrels, docs, [{ name: 'bm25', retriever: teacher }], options, { mode: 'intra', dedup: false }, stats, oracle);
  return { stats, examples };
}

describe('mining SciFact train with a BM25 teacher', () => {
  it('naive top-4 from the top 30: every query gets 4 negatives, none of them labelled positives', async () => {
    const { stats, examples } = await mine('naive');
    expect(stats.queries).toBe(809);
    expect(stats.pairs).toBe(919);
    expect(stats.shortQueries).toBe(0);
    for (const ex of examples) {
      const positives = new Set([...qrels.get(ex.query.id)!.keys()]);
      expect(ex.negatives).toHaveLength(4);
      for (const n of ex.negatives) expect(positives.has(n.id)).toBe(false);
      // Negatives are the teacher's best non-positives, in rank order.
      expect(ex.negatives.map((n) => n.score)).toEqual([...ex.negatives.map((n) => n.score)].sort((a, b) => b - a));
    }
    expect(stats.falseNegatives).toEqual({ labelled: 0, sibling: 17, checked: 3236 });
  });

  it('PercPos(0.95) keeps every negative below 95% of the weakest positive, and halves likely false negatives here', async () => {
    const { stats, examples } = await mine('perc-pos', { perc: 0.95 });
    for (const ex of examples) {
      const cap = Math.min(...ex.positives.map((p) => p.score)) * 0.95;
      for (const n of ex.negatives) expect(n.score).toBeLessThan(cap);
    }
    expect(stats.teachers['bm25']!.removed.method).toBe(5395);
    expect(stats.shortQueries).toBe(135);
    expect(stats.falseNegatives).toEqual({ labelled: 0, sibling: 8, checked: 2714 });
  });

  it('TopK-Abs 0.7 on raw BM25 scores is refused (it removed every candidate); min-max normalised per query it mines', async () => {
    // Before: abs 0.7 silently removed all 809 x 30 candidates, so the ablation row equalled in-batch-only training.
    await expect(mine('abs', { absThreshold: 0.7 })).rejects.toThrow(/Method abs compares raw teacher scores.*teacher "bm25".*outside the cosine range.*normalize: 'minmax-per-query'/);
    await expect(mine('margin-pos', { margin: 0.05 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const { stats, examples } = await mine('abs', { absThreshold: 0.7, normalize: 'minmax-per-query' });
    expect(stats.normalize).toBe('minmax-per-query');
    const removed = stats.teachers['bm25']!.removed.method;
    expect(removed).toBeGreaterThan(0);
    expect(removed).toBeLessThan(809 * 30);
    expect(examples.filter((e) => e.negatives.length === 4).length).toBeGreaterThan(600);
  });

  it('positive scores from the teacher match a fresh BM25 search for positives inside the top 30', async () => {
    const { examples } = await mine('margin-pos', { margin: 0.1, normalize: 'minmax-per-query' });
    const ex = examples.find((e) => e.query.id === queries[0]!.id)!;
    const hits = await teacher.search(ex.query, { k: 1000 });
    for (const p of ex.positives) expect(p.score).toBe(hits.find((h) => h.id === p.id)?.score ?? p.score);
    const scored = await teacher.scoreDocs(
      ex.query,
      ex.positives.map((p) => p.id),
    );
    expect([...scored]).toEqual(ex.positives.map((p) => p.score));
  });
});
