import { join } from 'node:path';
import { maxSim, truncateTokens } from '@quarry/colbert';
import { docText, loadSplit, openBeirDataset, readCorpus, type Doc, type Query, type RaggedMatrix, type TokenEncoder } from '@quarry/core';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PgColbertRetriever, PgVectorStore } from '../src/index.js';

const SCIFACT = join(__dirname, '../../../datasets/scifact');
const DIM = 32; // Matryoshka prefix of the bundled model's token vectors: small enough for PGlite here
const N_DOCS = 80;

let docs: Doc[];
let queries: Query[];
let encoder: TokenEncoder;
let store: PgVectorStore;
let retriever: PgColbertRetriever;
let docTokens: RaggedMatrix;

/** Brute force: exact MaxSim of a query against every document, best 10. */
async function bruteForce(query: Query, keep: (i: number) => boolean = () => true): Promise<{ id: string; score: number }[]> {
  const q = truncateTokens(await encoder.encodeTokens([query.text], { role: 'query' }), DIM);
  return docs
    .map((d, i) => ({ id: d.id, i, score: maxSim(q, 0, docTokens, i) }))
    .filter((x) => keep(x.i))
    .sort((a, b) => b.score - a.score)
    .slice(0, 10)
    .map(({ id, score }) => ({ id, score }));
}

beforeAll(async () => {
  const dataset = openBeirDataset(SCIFACT);
  docs = [];
  for await (const d of readCorpus(dataset.corpusFile)) {
    docs.push({ ...d, meta: { even: docs.length % 2 === 0 } });
    if (docs.length === N_DOCS) break;
  }
  // Queries whose relevant documents are among the loaded ones, so there is something to find.
  const { queries: all, qrels } = await loadSplit(dataset, 'train');
  const loaded = new Set(docs.map((d) => d.id));
  queries = all.filter((q) => [...(qrels.get(q.id)?.keys() ?? [])].some((id) => loaded.has(id))).slice(0, 6);
  const model = await loadEncoder(bundledModelDir(), { threads: 2 });
  encoder = model as TokenEncoder & typeof model;
  docTokens = truncateTokens(await encoder.encodeTokens(docs.map(docText), { role: 'document' }), DIM);
  store = await PgVectorStore.open({ url: inject('pgUrl'), dim: DIM, metric: 'ip', mode: 'colbert', table: 'colbert_t', poolSize: 1, batchSize: 50 });
  retriever = new PgColbertRetriever(encoder, store, { candidatesPerToken: 24 });
  await retriever.addDocs(docs);
});
afterAll(async () => {
  await store?.drop();
  await store?.close();
});

describe('ColBERT mode: token vectors in Postgres, exact MaxSim in Quarry', () => {
  it('stores one row per document token, bit for bit', async () => {
    expect(queries.length).toBeGreaterThan(5);
    expect(await store.count()).toBe(N_DOCS);
    expect(await store.tokenCount()).toBe(docTokens.offsets[N_DOCS]);
    console.log(`${docTokens.offsets[N_DOCS]} token vectors`);
    const back = await store.tokenVectors([docs[3]!.id, 'missing', docs[0]!.id]);
    const a = docTokens.offsets[3]!;
    const b = docTokens.offsets[4]!;
    expect(Array.from(back.offsets)).toEqual([0, b - a, b - a, b - a + docTokens.offsets[1]!]);
    expect(back.data.subarray(0, (b - a) * DIM)).toEqual(docTokens.data.subarray(a * DIM, b * DIM));
  });

  it('ranks candidates by exact MaxSim: scores equal brute force, and with exact candidates the top 10 are the true top 10', async () => {
    let overlap = 0;
    for (const q of queries) {
      const [truth, hits] = [await bruteForce(q), await retriever.search(q, { k: 10, exact: true })];
      const byId = new Map(truth.map((t) => [t.id, t.score]));
      for (const h of hits) if (byId.has(h.id)) expect(h.score).toBeCloseTo(byId.get(h.id)!, 5);
      overlap += hits.filter((h) => byId.has(h.id)).length;
    }
    expect(overlap / (10 * queries.length)).toBeGreaterThanOrEqual(0.98);
  });

  it('with an HNSW index on the tokens, recall@10 against brute force stays high', async () => {
    await store.createIndex({ m: 8, efConstruction: 32 });
    expect(await store.indexInfo()).toMatchObject({ name: 'colbert_t_tokens_hnsw', m: 8, efConstruction: 32 });
    let overlap = 0;
    for (const q of queries) {
      const truth = new Set((await bruteForce(q)).map((t) => t.id));
      overlap += (await retriever.search(q, { k: 10 })).filter((h) => truth.has(h.id)).length;
    }
    expect(overlap / (10 * queries.length)).toBeGreaterThanOrEqual(0.9);
  });

  it('filters candidates by metadata in SQL and by id predicate here', async () => {
    const q = queries[0]!;
    const hits = await retriever.search(q, { k: 10, where: { even: true }, exact: true });
    const evens = new Set(docs.filter((_, i) => i % 2 === 0).map((d) => d.id));
    expect(hits.length).toBe(10);
    expect(hits.every((h) => evens.has(h.id))).toBe(true);
    const truth = await bruteForce(q, (i) => i % 2 === 0);
    expect(hits.filter((h) => truth.some((t) => t.id === h.id)).length).toBeGreaterThanOrEqual(9);
    const odd = await retriever.search(q, { k: 5, filter: (id) => !evens.has(id), exact: true });
    expect(odd.every((h) => !evens.has(h.id))).toBe(true);
  });

  it('re-adding a document replaces its tokens (no duplicates); deleting it removes them', async () => {
    const before = await store.tokenCount();
    await retriever.addDocs([docs[7]!, docs[8]!]);
    expect(await store.tokenCount()).toBe(before);
    const own = docTokens.offsets[8]! - docTokens.offsets[7]!;
    expect(await store.delete(docs[7]!.id)).toBe(1);
    expect(await store.tokenCount()).toBe(before - own);
    expect((await retriever.search(queries[0]!, { k: N_DOCS, exact: true })).some((h) => h.id === docs[7]!.id)).toBe(false);
  });
});
