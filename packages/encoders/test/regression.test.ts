import { join } from 'node:path';
import { Bm25Index } from '@quarry/bm25';
import { docText, evaluate, loadSplit, openBeirDataset, readCorpus, reciprocalRankFusion, weightedScoreFusion, type Doc, type Hit, type Query, type Qrels } from '@quarry/core';
import { FlatIndex } from '@quarry/vector';
import { beforeAll, describe, expect, it } from 'vitest';
import { OnnxEncoder, loadEncoder, type LoadedEncoder } from '../src/index.js';
import { PKG, SCIFACT } from './helpers.js';

/**
 * Pins the shipped models' nDCG@10 on SciFact `test` (300 queries) and `test-unseen`
 * (104 queries whose relevant documents are no train query's positive). The figures are
 * those in README.md / BENCHMARKS.md, produced by `npm run quality`. Retraining with
 * `node tools/train-default.mjs` (same seed) reproduces them.
 */
const PINNED = {
  'scifact-static': { test: 0.791318, 'test-unseen': 0.656386 },
  'scifact-static-selfsup': { test: 0.619638, 'test-unseen': 0.651084 },
  'scifact-contextual': { test: 0.794673, 'test-unseen': 0.66323 },
  hybrid: { rrf: { test: 0.749499, 'test-unseen': 0.719921 }, weighted: { test: 0.785337, 'test-unseen': 0.721713 } },
};

type Split = 'test' | 'test-unseen';
const SPLITS: Split[] = ['test', 'test-unseen'];
let docs: Doc[];
const splits = {} as Record<Split, { queries: Query[]; qrels: Qrels }>;

beforeAll(async () => {
  const dataset = openBeirDataset(SCIFACT);
  docs = [];
  for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
  for (const s of SPLITS) splits[s] = await loadSplit(dataset, s);
});

async function denseRuns(encoder: LoadedEncoder): Promise<Record<Split, Map<string, Hit[]>>> {
  const vectors = await encoder.encode(docs.map(docText), { role: 'document' });
  const index = new FlatIndex({ dim: encoder.dim, metric: 'cosine' });
  index.add(
    docs.map((d) => d.id),
    vectors,
  );
  const out = {} as Record<Split, Map<string, Hit[]>>;
  for (const s of SPLITS) {
    const q = await encoder.encode(
      splits[s].queries.map((x) => x.text),
      { role: 'query' },
    );
    const hits = index.searchBatch(q, { k: 100 });
    out[s] = new Map(splits[s].queries.map((x, i) => [x.id, hits[i]!]));
  }
  return out;
}

const ndcg = (run: Map<string, readonly Hit[]>, s: Split): number => evaluate(run, splits[s].qrels, ['ndcg@10']).metrics['ndcg@10']!;

describe('shipped models: nDCG@10 on SciFact test and test-unseen', () => {
  it('scifact-static (default), and fused with BM25', async () => {
    const runs = await denseRuns(await loadEncoder(join(PKG, 'models', 'scifact-static')));
    const bm25 = await Bm25Index.build(docs);
    for (const s of SPLITS) {
      expect(ndcg(runs[s], s)).toBeCloseTo(PINNED['scifact-static'][s], 4);
      const lexical = await bm25.searchBatch(splits[s].queries, { k: 100 });
      const rrf = new Map<string, Hit[]>();
      const weighted = new Map<string, Hit[]>();
      splits[s].queries.forEach((q, i) => {
        rrf.set(q.id, reciprocalRankFusion([runs[s].get(q.id)!, lexical[i]!], { k: 60, limit: 100 }));
        weighted.set(q.id, weightedScoreFusion([runs[s].get(q.id)!, lexical[i]!], { normalization: 'minmax', limit: 100 }));
      });
      expect(ndcg(rrf, s)).toBeCloseTo(PINNED.hybrid.rrf[s], 4);
      expect(ndcg(weighted, s)).toBeCloseTo(PINNED.hybrid.weighted[s], 4);
    }
  });

  it('scifact-static-selfsup (trained without any SciFact query)', async () => {
    const runs = await denseRuns(await loadEncoder(join(PKG, 'models', 'scifact-static-selfsup')));
    for (const s of SPLITS) expect(ndcg(runs[s], s)).toBeCloseTo(PINNED['scifact-static-selfsup'][s], 4);
  });

  it('scifact-contextual (through onnxruntime, which agrees with the TypeScript runtime to 1e-5)', async () => {
    const runs = await denseRuns(await OnnxEncoder.load(join(PKG, 'models', 'scifact-contextual'), { threads: 2, batchSize: 64 }));
    for (const s of SPLITS) expect(ndcg(runs[s], s)).toBeCloseTo(PINNED['scifact-contextual'][s], 3);
  });
});
