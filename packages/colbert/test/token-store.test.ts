import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDocStore, Pipeline, PluginRegistry, loadSplit, openBeirDataset, readCorpus, type Doc, type Hit, type Query, type TokenEncoder } from '@quarry/core';
import { Bm25Index, bm25Plugin } from '@quarry/bm25';
import { floatToHalf } from '@quarry/encoders';
import { ColbertReranker, DocTokenStore, MaxSimKernel, TOKEN_PRECISIONS, colbertPlugin, loadTokenEncoder, maxSim, type TokenPrecision } from '../src/index.js';

// Real data: the first 400 SciFact documents and 12 test claims, BM25's top 40 of that
// subset as candidates, the shipped token model at 64-d (to keep the test quick).
const dataset = openBeirDataset(join(__dirname, '../../../datasets/scifact'));
const root = mkdtempSync(join(tmpdir(), 'colbert-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let docs: MemoryDocStore;
let encoder: TokenEncoder;
let label: string;
let queries: Query[];
let candidates: Hit[][];
let fp32: DocTokenStore;
const DIM = 64;

beforeAll(async () => {
  const all: Doc[] = [];
  for await (const d of readCorpus(dataset.corpusFile)) if (all.length < 400) all.push(d);
  docs = new MemoryDocStore(all);
  ({ encoder, label } = await loadTokenEncoder(undefined));
  queries = (await loadSplit(dataset, 'test')).queries.slice(0, 12);
  const bm25 = await Bm25Index.build(docs);
  candidates = await bm25.searchBatch(queries, { k: 40 });
  fp32 = await DocTokenStore.build(docs, encoder, { dim: DIM, precision: 'fp32', model: label, batchSize: 32 });
}, 300_000);

const rerankAll = async (reranker: ColbertReranker) => Promise.all(queries.map((q, i) => reranker.rerank(q, candidates[i]!, { docs })));
const scoreMap = (hits: Hit[][]) => hits.map((h) => new Map(h.map((x) => [x.id, x.score])));

describe('DocTokenStore: document token vectors stored at index time', () => {
  it('fp32 storage reproduces on-the-fly encoding: same scores, same order', async () => {
    const onTheFly = await rerankAll(new ColbertReranker(encoder, { dim: DIM }));
    const stored = await rerankAll(new ColbertReranker(encoder, { dim: DIM, store: fp32 }));
    expect(fp32.size).toBe(400);
    expect(fp32.tokenCount).toBeGreaterThan(50_000);
    stored.forEach((hits, i) => {
      expect(hits.map((h) => h.id)).toEqual(onTheFly[i]!.map((h) => h.id));
      hits.forEach((h, j) => expect(h.score).toBeCloseTo(onTheFly[i]![j]!.score, 4));
    });
  });

  it('compact precisions: the error grows as the bytes shrink, and fp16 / int8 keep the top 10', async () => {
    const reference = scoreMap(await rerankAll(new ColbertReranker(encoder, { dim: DIM, store: fp32 })));
    const refTop = (await rerankAll(new ColbertReranker(encoder, { dim: DIM, store: fp32 }))).map((h) => h.slice(0, 10).map((x) => x.id));
    const errors: Record<string, number> = {};
    const overlaps: Record<string, number> = {};
    for (const precision of TOKEN_PRECISIONS.filter((p) => p !== 'fp32')) {
      const store = await fp32.convert(precision, { centroids: 256, sampleTokens: 16_384 });
      expect(store.precision).toBe(precision);
      const hits = await rerankAll(new ColbertReranker(encoder, { dim: DIM, store }));
      let err = 0;
      let overlap = 0;
      hits.forEach((h, i) => {
        for (const x of h) err = Math.max(err, Math.abs(x.score - reference[i]!.get(x.id)!));
        overlap += h.slice(0, 10).filter((x) => refTop[i]!.includes(x.id)).length / 10;
      });
      errors[precision] = err;
      overlaps[precision] = overlap / hits.length;
    }
    expect(errors['fp16']!).toBeLessThan(0.01);
    expect(errors['fp16']!).toBeLessThan(errors['int8']!);
    expect(errors['int8']!).toBeLessThan(errors['residual-4']!);
    expect(errors['residual-4']!).toBeLessThan(errors['residual-2']!);
    expect(overlaps['fp16']!).toBeGreaterThanOrEqual(0.99);
    expect(overlaps['int8']!).toBeGreaterThanOrEqual(0.95);
  }, 120_000);

  it('the kernel scores each precision exactly as plain MaxSim over the decoded vectors', async () => {
    const kernel = new MaxSimKernel({ threads: 1, jsThreshold: 0 });
    const q = { dim: DIM, offsets: Int32Array.of(0, 3), data: new Float32Array(3 * DIM) };
    q.data.set(fp32.matrix(0).data.subarray(0, 3 * DIM)); // three real document tokens as a query
    for (const precision of ['fp32', 'int8', 'residual-4'] as TokenPrecision[]) {
      const store = precision === 'fp32' ? fp32 : await fp32.convert(precision, { centroids: 64, sampleTokens: 4096 });
      const slots = Int32Array.of(5, 0, 399, 17);
      const scores = await kernel.score(q, 0, store, slots);
      slots.forEach((slot, i) => expect(scores[i]).toBeCloseTo(maxSim(q, 0, store.matrix(slot), 0), 4));
    }
    await kernel.release();
  });

  it('fp16 rounds to nearest even', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-0.5)).toBe(0xb800);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to the even mantissa
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(2 ** -20)).toBe(0x0010); // subnormal
  });

  it('saves atomically with a checksummed manifest and loads by reading (same scores); a damaged file is refused', async () => {
    const store = await fp32.convert('int8');
    const dir = join(root, 'int8');
    await store.save(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, unknown>; meta: { precision: string; tokens: number } };
    expect(Object.keys(manifest.files).sort()).toEqual(['doc-ids.json', 'doc-offsets.i32', 'scales.f32', 'tokens.i8']);
    expect(manifest.meta).toMatchObject({ precision: 'int8', tokens: store.tokenCount, model: label });
    const loaded = await DocTokenStore.load(dir);
    const a = await rerankAll(new ColbertReranker(encoder, { dim: DIM, store }));
    const b = await rerankAll(new ColbertReranker(encoder, { dim: DIM, store: loaded }));
    expect(b).toEqual(a);
    const bytes = readFileSync(join(dir, 'tokens.i8'));
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(join(dir, 'tokens.i8'), bytes);
    await expect(DocTokenStore.load(dir)).rejects.toMatchObject({ code: 'INDEX_CORRUPT' });
  });

  it('documents missing from the store (added after indexing) are encoded, the rest gathered', async () => {
    const extra: Doc = { id: 'new-doc', title: 'Vitamin D', text: 'Vitamin D deficiency is associated with tuberculosis in several cohorts.' };
    const more = new MemoryDocStore([...docs, extra]);
    const hits = [...candidates[0]!.slice(0, 10), { id: 'new-doc', score: 0 }];
    const mixed = await new ColbertReranker(encoder, { dim: DIM, store: fp32 }).rerank(queries[0]!, hits, { docs: more });
    const plain = await new ColbertReranker(encoder, { dim: DIM }).rerank(queries[0]!, hits, { docs: more });
    expect(mixed.map((h) => h.id)).toEqual(plain.map((h) => h.id));
    mixed.forEach((h, i) => expect(h.score).toBeCloseTo(plain[i]!.score, 4));
  });

  it('a pipeline saves the reranker stage with its store and loads it without encoding documents', async () => {
    const registry = new PluginRegistry().register(bm25Plugin, colbertPlugin);
    const config = { retrievers: [{ plugin: 'bm25' }], reranker: { plugin: 'colbert', options: { dim: DIM, storage: 'fp16' }, depth: 20 } };
    const built = await Pipeline.build(config, registry, { docs });
    const dir = join(root, 'pipeline');
    await built.save(dir);
    expect(existsSync(join(dir, 'reranker', 'tokens.f16'))).toBe(true);
    const loaded = await Pipeline.load(dir, registry);
    expect((loaded.reranker as ColbertReranker).store?.precision).toBe('fp16');
    expect(await loaded.searchBatch(queries, { k: 10 })).toEqual(await built.searchBatch(queries, { k: 10 }));
    // Options that disagree with what was stored are refused, not silently re-encoded.
    const reranker = join(dir, 'reranker');
    await expect(colbertPlugin.load!(reranker, colbertPlugin.schema.parse({ dim: DIM, storage: 'int8' }), { docs })).rejects.toThrow(/64-d fp16 .* but 64-d int8/);
    // storage: none keeps the old behaviour (nothing stored, nothing saved for the stage).
    const none = await Pipeline.build({ ...config, reranker: { ...config.reranker, options: { dim: DIM, storage: 'none' } } }, registry, { docs });
    expect((none.reranker as ColbertReranker).store).toBeUndefined();
    expect(typeof (none.reranker as ColbertReranker).save).toBe('undefined');
  }, 120_000);
});
