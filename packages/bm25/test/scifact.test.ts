// Regression on real data, Pyserini style: every figure is pinned to 4 digits.
// Reproduce with: cd packages/bm25 && npx vitest run test/scifact.test.ts
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, loadSplit, openBeirDataset, readCorpus, type Doc, type Qrels, type Query, type Run } from '@quarry/core';
import { Bm25Index } from '../src/index.js';

const DATASET = fileURLToPath(new URL('../../../datasets/scifact', import.meta.url));
const dataset = openBeirDataset(DATASET);
let docs: Doc[];

async function score(index: Bm25Index, split: string): Promise<Record<string, number>> {
  const { queries, qrels }: { queries: Query[]; qrels: Qrels } = await loadSplit(dataset, split);
  const hits = await index.searchBatch(queries, { k: 1000 });
  const run: Run = new Map(queries.map((q, i) => [q.id, hits[i]!]));
  return evaluate(run, qrels, ['ndcg@10', 'recall@100', 'recall@1000']).metrics;
}

beforeAll(async () => {
  docs = [];
  for await (const doc of readCorpus(dataset.corpusFile)) docs.push(doc);
});

describe('SciFact (BEIR), BM25 flat, k1=0.9 b=0.4, top 1000', () => {
  it('reproduces Anserini with Lucene lossy norms (default)', async () => {
    const index = await Bm25Index.build(docs);
    expect(index.stats()).toMatchObject({ docs: 5183, docCount: 5183, sumTotalTermFreq: 838084 });
    const test = await score(index, 'test');
    // Anserini bm25-flat reference: nDCG@10 0.6789, R@100 0.9253.
    expect(test['ndcg@10']).toBeGreaterThanOrEqual(0.675);
    expect(test['ndcg@10']).toBeCloseTo(0.6789, 4);
    expect(test['recall@100']).toBeCloseTo(0.9253, 4);
    expect(test['recall@1000']).toBeCloseTo(0.9767, 4);
    const unseen = await score(index, 'test-unseen');
    expect(unseen['ndcg@10']).toBeCloseTo(0.6743, 4);
    expect(unseen['recall@100']).toBeCloseTo(0.9337, 4);
  });

  it('with exact document lengths', async () => {
    const index = await Bm25Index.build(docs, { lossyNorms: false });
    const test = await score(index, 'test');
    expect(test['ndcg@10']).toBeCloseTo(0.6777, 4);
    expect(test['recall@100']).toBeCloseTo(0.9253, 4);
    expect((await score(index, 'test-unseen'))['ndcg@10']).toBeCloseTo(0.673, 4);
  });
});
