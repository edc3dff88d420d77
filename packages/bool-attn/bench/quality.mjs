// Per-operator quality on the Boolean benchmark's test split: plain encoder vs Boolean-aware.
// Usage: npx tsup && node bench/quality.mjs [--model DIR] [--write]   (--write updates BENCHMARKS.md)
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { BoolRetriever, bundledBoolModelDir, loadBoolEncoder, readBoolQueries } from '../dist/index.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    benchmark: { type: 'string', default: here('../benchmark/scifact-bool') },
    write: { type: 'boolean', default: false },
    splits: { type: 'string', default: 'test-not,test-and,test-or,test-plain' },
  },
});
const dataset = openBeirDataset(values.benchmark);
const docs = [];
for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
const encoder = await loadBoolEncoder(values.model ?? bundledBoolModelDir());
const boolRetriever = await BoolRetriever.fromDocs(docs, encoder);
const plain = { dim: encoder.dim, encode: async (texts, o) => (o.role === 'query' ? encoder.encodePlain(texts) : encoder.base.encode(texts, o)) };
const baseRetriever = new BoolRetriever(plain, boolRetriever.ids, boolRetriever.vectors, { name: 'bool-baseline' });
// Oracle: gold scopes from the generator's segments (NOT: the excluded claim and the connective get
// weight 0, everything else 1): what a perfect cue + scope predictor with a "drop" bias reaches.
const meta = new Map((await readBoolQueries(values.benchmark)).map((q) => [q.id, q.meta]));
const oracle = {
  dim: encoder.dim,
  encode: async (texts, o) => {
    if (o.role !== 'query') return encoder.base.encode(texts, o);
    const ids = [];
    const weights = [];
    for (const t of texts) {
      const m = oracleMeta.get(t);
      const seq = encoder.tokenize(t);
      const w = new Float32Array(seq.length).fill(1);
      if (m?.op === 'not') {
        let pos = 0;
        for (const s of m.segments) {
          const n = encoder.tokenize(s.text).length;
          if (s.role !== 'a') w.fill(0, pos, pos + n);
          pos += n;
        }
      }
      ids.push(seq);
      weights.push(w);
    }
    return encoder.base.encodeIds(ids, { tokenWeights: weights });
  },
};
const oracleMeta = new Map([...meta.values()].filter((m) => m.segments).map((m) => [m.segments.map((s) => s.text).join(''), m]));
const oracleRetriever = new BoolRetriever(oracle, boolRetriever.ids, boolRetriever.vectors, { name: 'oracle' });
const rows = [];
for (const split of values.splits.split(',')) {
  const { queries, qrels } = await loadSplit(dataset, split);
  const row = { split, queries: queries.length };
  for (const [name, r] of [['baseline', baseRetriever], ['bool', boolRetriever], ...(split.endsWith('-not') ? [['oracle', oracleRetriever]] : [])]) {
    const hits = await r.searchBatch(queries, { k: 1000 });
    const m = evaluate(new Map(queries.map((q, i) => [q.id, hits[i]])), qrels, ['mrr@10', 'ndcg@10']).metrics;
    const r2 = evaluate(new Map(queries.map((q, i) => [q.id, hits[i]])), qrels, ['mrr@10', 'ndcg@10']);
    row[name] = { mrr: m['mrr@10'], ndcg: m['ndcg@10'], perQuery: r2.perQuery['mrr@10'] };
  }
  const ids = queries.map((q) => q.id);
  row.better = ids.filter((id) => row.bool.perQuery[id] > row.baseline.perQuery[id] + 1e-12).length;
  row.worse = ids.filter((id) => row.bool.perQuery[id] < row.baseline.perQuery[id] - 1e-12).length;
  rows.push(row);
  console.log(
    `${split.padEnd(11)} ${String(queries.length).padStart(4)}  MRR@10 ${row.baseline.mrr.toFixed(4)} -> ${row.bool.mrr.toFixed(4)} (${((row.bool.mrr / row.baseline.mrr - 1) * 100).toFixed(1)}%)  nDCG@10 ${row.baseline.ndcg.toFixed(4)} -> ${row.bool.ndcg.toFixed(4)}  queries better/worse (MRR@10) ${row.better}/${row.worse}${row.oracle ? `  oracle scopes: MRR@10 ${row.oracle.mrr.toFixed(4)} nDCG@10 ${row.oracle.ndcg.toFixed(4)}` : ''}`,
  );
}
export { rows };
