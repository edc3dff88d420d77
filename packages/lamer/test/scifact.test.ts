import { join } from 'node:path';
import { MemoryDocStore, evaluate, loadSplit, openBeirDataset, readCorpus, type Retriever } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SELECTOR_MODEL, ExtractiveAnswers, LameR, LameRDenseRetriever, LameRRetriever, lamerPlugin } from '../src/index.js';

// SciFact figures of the README (`node bench/scifact.mjs`), held to their digits.
const ds = openBeirDataset(join(__dirname, '../../../datasets/scifact'));
let docs: MemoryDocStore;
let bm25: Bm25Index;
let dense: ExtractiveAnswers;

async function score(retriever: Retriever, split: string): Promise<[number, number]> {
  const { queries, qrels } = await loadSplit(ds, split);
  const res = await retriever.searchBatch(queries, { k: 1000 });
  const m = evaluate(new Map(queries.map((q, i) => [q.id, res[i]!])), qrels, ['ndcg@10', 'recall@100']).metrics;
  return [m['ndcg@10']!, m['recall@100']!];
}

beforeAll(async () => {
  docs = await MemoryDocStore.fromAsync(readCorpus(ds.corpusFile));
  bm25 = await Bm25Index.build(docs);
  dense = await ExtractiveAnswers.fromDocs(docs, { selector: 'dense', encoder: await loadEncoder(bundledModelDir(DEFAULT_SELECTOR_MODEL)) });
});

describe('LameR with the extractive source on SciFact (no LLM)', () => {
  it('bm25 baseline (Anserini flat)', async () => {
    const [ndcg, r100] = await score(bm25, 'test');
    expect(ndcg).toBeCloseTo(0.6789, 4);
    expect(r100).toBeCloseTo(0.9253, 4);
  });

  it('naive extraction (idf-overlap sentences, the issue calibration) loses to BM25', async () => {
    const lexical = await ExtractiveAnswers.fromDocs(docs, { selector: 'lexical' });
    const [ndcg, r100] = await score(new LameRRetriever(new LameR(lexical), bm25, docs), 'test');
    expect(ndcg).toBeCloseTo(0.6416, 4);
    expect(r100).toBeCloseTo(0.9227, 4);
  });

  it('the default (own-encoder sentences, RRF with round 1) ties BM25 on nDCG@10 and gains R@100', async () => {
    const retriever = (await lamerPlugin.create(lamerPlugin.schema.parse({}), { docs })) as LameRRetriever;
    expect(retriever.options.fuse).toEqual({ k: 60, depth: 1000 });
    const test = await score(retriever, 'test');
    expect(test[0]).toBeCloseTo(0.677, 4);
    expect(test[1]).toBeCloseTo(0.9343, 4);
    const unseen = await score(retriever, 'test-unseen');
    expect(unseen[0]).toBeCloseTo(0.6793, 4);
    expect(unseen[1]).toBeCloseTo(0.95, 4);
  });

  it('the dense variant with extractive answers stays below the plain dense pipeline (0.6564 on test-unseen)', async () => {
    const r = await LameRDenseRetriever.build(new LameR(dense), await loadEncoder(bundledModelDir()), bm25, docs);
    const [ndcg, r100] = await score(r, 'test-unseen');
    expect(ndcg).toBeCloseTo(0.6458, 4);
    expect(r100).toBeCloseTo(0.9423, 4);
  });
});
