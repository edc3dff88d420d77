import { describe, expect, it } from 'vitest';
import { MemoryDocStore, evaluate, loadSplit, openBeirDataset, type Hit } from '@quarry/core';
import { llm2grPlugin, type Llm2grRetriever } from '../src/index.js';
import { SCIFACT_DIR, scifactDocs } from './scifact.js';

// Pyserini-style pins: the default `llm2gr` pipeline (corpus-statistics scorer, no LLM) on SciFact
// test-unseen, the figures of the README and of `npm run scifact -w @quarry/llm2gr`.
describe('llm2gr on SciFact test-unseen (default scorer)', () => {
  it('reproduces nDCG@10 and page-level R-precision to 4 digits; every title and prefix exists in the corpus', async () => {
    const docs = await scifactDocs();
    const retriever = (await llm2grPlugin.create(llm2grPlugin.schema.parse({}), { docs: new MemoryDocStore(docs) })) as Llm2grRetriever;
    const { queries, qrels } = await loadSplit(openBeirDataset(SCIFACT_DIR), 'test-unseen');
    const all = new Map<string, Hit[]>();
    const kept = new Map<string, Hit[]>();
    const titles = new Set(docs.map((d) => d.title));
    const byId = new Map(docs.map((d) => [d.id, d]));
    for (const q of queries) {
      const gen = await retriever.generate(q);
      all.set(q.id, gen.hits.slice(0, 100));
      const keptDocs = new Set(gen.titles.slice(0, 2).flatMap((t) => t.docs));
      kept.set(
        q.id,
        gen.hits.filter((h) => keptDocs.has(h.id)),
      );
      for (const t of gen.titles) expect(titles.has(t.title)).toBe(true);
      for (const p of gen.passages) {
        const d = retriever.index.ids.indexOf(p.doc);
        const tokens = retriever.scorer.encode(` ${byId.get(p.doc)!.text}`);
        const prefix = retriever.scorer.encode(p.prefix);
        expect(Array.from(retriever.index.fm.extract(d, p.offset, prefix.length))).toEqual(tokens.slice(p.offset, p.offset + prefix.length));
      }
    }
    const a = evaluate(all, qrels, ['ndcg@10', 'rprec', 'recall@100']).metrics;
    const k = evaluate(kept, qrels, ['ndcg@10', 'rprec']).metrics;
    expect(queries.length).toBe(104);
    expect(a['ndcg@10']).toBeCloseTo(0.6218, 4);
    expect(a['rprec']).toBeCloseTo(0.4952, 4);
    expect(a['recall@100']).toBeCloseTo(0.8019, 4);
    expect(k['ndcg@10']).toBeCloseTo(0.5668, 4);
    expect(k['rprec']).toBeCloseTo(0.492, 4);
  });
});
