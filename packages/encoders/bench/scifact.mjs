// Shared SciFact evaluation helpers for bench/quality.mjs, bench/bench.mjs and tools/.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bm25Index } from '@quarry/bm25';
import { docText, evaluate, loadSplit, openBeirDataset, readCorpus, reciprocalRankFusion, weightedScoreFusion } from '@quarry/core';
import { FlatIndex } from '@quarry/vector';

export const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCIFACT = join(PKG, '..', '..', 'datasets', 'scifact');
export const SPLITS = ['test', 'test-unseen'];

/** Corpus, and queries + qrels of each evaluation split (never the train split's queries). */
export async function loadScifact(dir = SCIFACT, splits = SPLITS) {
  const dataset = openBeirDataset(dir);
  const docs = [];
  for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
  const out = {};
  for (const s of splits) out[s] = await loadSplit(dataset, s);
  return { docs, splits: out };
}

/** Encodes the corpus once at full dim; returns a searcher per Matryoshka dim (exact, FlatIndex, cosine). */
export async function denseSearcher(encoder, docs, { batchSize = 512 } = {}) {
  const ids = docs.map((d) => d.id);
  const texts = docs.map(docText);
  const rows = [];
  for (let i = 0; i < texts.length; i += batchSize) rows.push(await encoder.encode(texts.slice(i, i + batchSize), { role: 'document' }));
  const dim = encoder.dim;
  const all = new Float32Array(texts.length * dim);
  let at = 0;
  for (const m of rows) {
    all.set(m.data, at);
    at += m.data.length;
  }
  const indexes = new Map();
  const indexFor = (d) => {
    if (!indexes.has(d)) {
      const index = new FlatIndex({ dim: d, metric: 'cosine' });
      const data = new Float32Array(ids.length * d);
      for (let i = 0; i < ids.length; i++) data.set(all.subarray(i * dim, i * dim + d), i * d);
      index.add(ids, { rows: ids.length, cols: d, data });
      indexes.set(d, index);
    }
    return indexes.get(d);
  };
  return {
    async run(queries, { dim = encoder.dim, k = 100 } = {}) {
      const q = await encoder.encode(
        queries.map((x) => x.text),
        { role: 'query', dim },
      );
      const hits = indexFor(dim).searchBatch(q, { k });
      return new Map(queries.map((x, i) => [x.id, hits[i]]));
    },
  };
}

export async function bm25Searcher(docs) {
  const index = await Bm25Index.build(docs, { k1: 0.9, b: 0.4 });
  return {
    async run(queries, { k = 100 } = {}) {
      const hits = await index.searchBatch(
        queries.map((q) => q.text),
        { k },
      );
      return new Map(queries.map((q, i) => [q.id, hits[i]]));
    },
  };
}

export function fuse(runs, method, options = {}) {
  const out = new Map();
  for (const qid of runs[0].keys()) {
    const lists = runs.map((r) => r.get(qid) ?? []);
    out.set(qid, method === 'rrf' ? reciprocalRankFusion(lists, { k: 60, limit: 100, ...options }) : weightedScoreFusion(lists, { normalization: 'minmax', limit: 100, ...options }));
  }
  return out;
}

export function ndcg10(run, qrels) {
  return evaluate(run, qrels, ['ndcg@10']).metrics['ndcg@10'];
}

export function fmt(x) {
  return x.toFixed(4);
}
