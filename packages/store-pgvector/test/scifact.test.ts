import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexCorruptError, MemoryDocStore, evaluate, loadSplit, openBeirDataset, readCorpus, type Doc, type Hit, type Qrels, type Query } from '@quarry/core';
import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PgDenseRetriever, PgVectorStore, densePgPlugin, type DensePgPluginOptions } from '../src/index.js';

const SCIFACT = join(__dirname, '../../../datasets/scifact');
/** The in-process figures of the same encoder (packages/encoders/test/regression.test.ts, apps/cli/test/dense.test.ts). */
const IN_PROCESS = { test: 0.791318, 'test-unseen': 0.656386 };
/**
 * pgvector draws HNSW levels from the backend's random state (seeded per session), so the
 * graph, and an HNSW figure's last digits, change from build to build; exact search is
 * pinned to its digits, HNSW to a band around it plus a recall floor.
 */
const HNSW_BAND = 0.005;

const url = inject('pgUrl');
let docs: Doc[];
const splits = {} as Record<'test' | 'test-unseen', { queries: Query[]; qrels: Qrels }>;
let retriever: PgDenseRetriever;
let options: DensePgPluginOptions;

beforeAll(async () => {
  const dataset = openBeirDataset(SCIFACT);
  docs = [];
  for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
  for (const s of ['test', 'test-unseen'] as const) splits[s] = await loadSplit(dataset, s);
  // The plugin path the CLI takes: encode, COPY into Postgres, build the HNSW index.
  options = densePgPlugin.schema.parse({ url, table: 'scifact', poolSize: 1, threads: 2 });
  retriever = (await densePgPlugin.create(options, { docs: new MemoryDocStore(docs) })) as PgDenseRetriever;
});
afterAll(async () => {
  await retriever?.store.drop();
  await retriever?.store.close();
});

async function ndcg(split: 'test' | 'test-unseen', exact: boolean): Promise<number> {
  const { queries, qrels } = splits[split];
  const hits = await retriever.searchBatch(queries, { k: 100, exact });
  const run = new Map<string, Hit[]>(queries.map((q, i) => [q.id, hits[i]!]));
  return evaluate(run, qrels, ['ndcg@10']).metrics['ndcg@10']!;
}

describe('dense retrieval through Postgres on SciFact', () => {
  it('loads every document once and builds the HNSW index with the configured parameters', async () => {
    expect(await retriever.store.count()).toBe(docs.length);
    expect(await retriever.store.indexInfo()).toMatchObject({ m: 16, efConstruction: 200 });
  });

  it('exact search reproduces the in-process nDCG@10 to its digits', async () => {
    expect(await ndcg('test-unseen', true)).toBeCloseTo(IN_PROCESS['test-unseen'], 5);
  });

  it('HNSW search is within HNSW recall of it', async () => {
    for (const split of ['test', 'test-unseen'] as const) {
      const value = await ndcg(split, false);
      console.log(`SciFact ${split} nDCG@10 through Postgres HNSW: ${value.toFixed(6)} (in process, exact: ${IN_PROCESS[split]})`);
      expect(Math.abs(value - IN_PROCESS[split])).toBeLessThan(HNSW_BAND);
    }
    const { queries } = splits['test-unseen'];
    const [approx, exact] = [await retriever.searchBatch(queries, { k: 10 }), await retriever.searchBatch(queries, { k: 10, exact: true })];
    let found = 0;
    approx.forEach((hits, i) => (found += hits.filter((h) => exact[i]!.some((e) => e.id === h.id)).length));
    console.log(`recall@10 of HNSW (ef_search 64) against exact: ${(found / (10 * queries.length)).toFixed(4)}`);
    expect(found / (10 * queries.length)).toBeGreaterThan(0.97);
  });

  it('scores documents on the search scale', async () => {
    const q = splits.test.queries[0]!;
    const hits = await retriever.search(q, { k: 5, exact: true });
    const scores = await retriever.scoreDocs(q, [...hits.map((h) => h.id), 'no-such-doc']);
    hits.forEach((h, i) => expect(scores[i]).toBeCloseTo(h.score, 5));
    expect(scores[5]).toBeNaN();
  });

  it('saves a pointer that reopens the store, and notices when the store changed', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-pg-')), 'retriever');
    await retriever.save(dir);
    const loaded = (await densePgPlugin.load!(dir, options, { docs: new MemoryDocStore(docs) })) as PgDenseRetriever;
    expect((await loaded.search(splits.test.queries[1]!, { k: 5 })).map((h) => h.id)).toEqual((await retriever.search(splits.test.queries[1]!, { k: 5 })).map((h) => h.id));
    await loaded.store.close();
    const removed = docs[0]!;
    await retriever.delete(removed.id);
    await expect(densePgPlugin.load!(dir, options, { docs: new MemoryDocStore(docs) })).rejects.toBeInstanceOf(IndexCorruptError);
    // A rebuild is a sync: only the missing document is encoded again.
    expect(await retriever.sync(docs)).toEqual({ loaded: 1, skipped: docs.length - 1, removed: 0 });
  });
});

describe('resumable loading', () => {
  it('a load cancelled half way resumes: the second run encodes only what is missing', async () => {
    const subset = docs.slice(0, 1200);
    const encoder = await loadEncoder(bundledModelDir(), { threads: 2 });
    const store = await PgVectorStore.open({ url, dim: encoder.dim, table: 'scifact_resume', poolSize: 1, batchSize: 100 });
    const first = new PgDenseRetriever(encoder, store, { batchSize: 200 });
    const controller = new AbortController();
    const error = await first
      .sync(subset, {
        signal: controller.signal,
        onProgress: ({ done }) => {
          if (done >= 600) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ABORTED');
    const kept = await store.count();
    expect(kept).toBeGreaterThanOrEqual(600);
    expect(kept).toBeLessThan(subset.length);
    // Stale rows (ids no longer in the collection) go; changed documents are re-encoded.
    await store.upsert(['stale-doc'], [new Float32Array(encoder.dim).fill(1)]);
    const changed = { ...subset[0]!, text: `${subset[0]!.text} (revised)` };
    const result = await first.sync([changed, ...subset.slice(1)]);
    expect(result).toEqual({ loaded: subset.length - kept + 1, skipped: kept - 1, removed: 1 });
    expect(await store.count()).toBe(subset.length);
    await store.drop();
    await store.close();
  });
});

describe('the dense-pg plugin options', () => {
  it('refuses a password in the URL (it would be saved with the pipeline) and non-Postgres URLs', () => {
    expect(() => densePgPlugin.schema.parse({ url: 'postgres://u:secret@db/x' })).toThrow(/PGPASSWORD/);
    expect(() => densePgPlugin.schema.parse({ url: 'mysql://db/x' })).toThrow(/postgres:\/\//);
    expect(densePgPlugin.schema.parse({ url: 'postgresql://u@db:5433/x' })).toMatchObject({ index: 'hnsw', M: 16, efConstruction: 200, ef: 64, table: 'quarry_dense' });
  });
});
