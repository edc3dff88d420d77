import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, MemoryDocStore, Pipeline, PluginNotFoundError, PluginRegistry, definePlugin, z, type Hit, type Query, type Retriever, type SearchOptions } from '../src/index.js';

/** Test-only retriever: counts shared lowercase words (enough to exercise composition). */
class OverlapRetriever implements Retriever {
  readonly name = 'overlap';
  constructor(
    private readonly docs: MemoryDocStore,
    private readonly bonus: number,
  ) {}
  async search(q: Query | string, o?: SearchOptions): Promise<Hit[]> {
    return (await this.searchBatch([q], o))[0]!;
  }
  async searchBatch(qs: readonly (Query | string)[], o: SearchOptions = {}): Promise<Hit[][]> {
    return qs.map((q) => {
      const words = new Set((typeof q === 'string' ? q : q.text).toLowerCase().split(/\W+/));
      const hits: Hit[] = [];
      for (const d of this.docs) {
        const score =
          d.text
            .toLowerCase()
            .split(/\W+/)
            .filter((w) => words.has(w)).length +
          this.bonus * Number(d.id);
        if (score > 0 && (!o.filter || o.filter(d.id))) hits.push({ id: d.id, score });
      }
      return hits.sort((a, b) => b.score - a.score).slice(0, o.k ?? 10);
    });
  }
}

const overlap = definePlugin({
  kind: 'retriever',
  name: 'overlap',
  description: 'test overlap',
  schema: z.object({ bonus: z.number().min(0).default(0) }),
  create: async (o, ctx) => new OverlapRetriever(ctx.docs as MemoryDocStore, o.bonus),
});
const reverse = definePlugin({
  kind: 'reranker',
  name: 'reverse',
  description: 'reverses candidates',
  schema: z.object({}),
  create: async () => ({ name: 'reverse', rerank: async (_q: Query, hits: readonly Hit[]) => [...hits].reverse().map((h, i) => ({ id: h.id, score: -i })) }),
});
const expand = definePlugin({
  kind: 'rewriter',
  name: 'expand',
  description: 'appends the best first-stage doc text',
  schema: z.object({}),
  create: async () => ({
    name: 'expand',
    rewrite: async (q: Query, ctx: { retriever: Retriever; docs: { get(id: string): { text: string } | undefined } }) => {
      const top = (await ctx.retriever.search(q, { k: 1 }))[0];
      const extra = top ? ctx.docs.get(top.id)!.text : '';
      return { query: { id: q.id, text: `${q.text} ${extra}` }, explain: { expandedWith: top?.id } };
    },
  }),
});

const docs = new MemoryDocStore([
  { id: '1', text: 'cats purr softly' },
  { id: '2', text: 'dogs bark loudly' },
  { id: '3', text: 'cats and dogs' },
]);
const registry = new PluginRegistry().register(overlap, reverse, expand);

describe('plugin registry and pipelines', () => {
  it('lists the valid names for an unknown plugin', () => {
    expect(() => registry.get('retriever', 'bm99')).toThrow(PluginNotFoundError);
    expect(() => registry.get('retriever', 'bm99')).toThrow(/Available retriever plugins: overlap/);
  });

  it('reports every invalid option path from the plugin schema', async () => {
    const err = await Pipeline.build({ retrievers: [{ plugin: 'overlap', options: { bonus: -1 } }] }, registry, { docs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]!.path).toBe('retrievers[0].options.bonus');
    await expect(Pipeline.build({ retrievers: [] }, registry, { docs })).rejects.toThrow(/retrievers: a pipeline needs at least one retriever/);
  });

  it('fuses several retrievers with RRF and reranks the top candidates', async () => {
    const p = await Pipeline.build({ name: 'x', retrievers: [{ plugin: 'overlap' }, { plugin: 'overlap', options: { bonus: 0.1 } }], reranker: { plugin: 'reverse', depth: 2 } }, registry, { docs });
    const hits = await p.search('cats', { k: 3 });
    // Retriever A ranks [1, 3]; B (bonus by id) ranks [3, 1, 2]. RRF ties 1 and 3 (1/61 + 1/62, broken by id),
    // then 2 (1/63). The reranker reverses only the top 2, so the tail keeps its fused order.
    expect(hits.map((h) => h.id)).toEqual(['3', '1', '2']);
  });

  it('runs the rewriter before retrieval and attaches its explanation', async () => {
    const p = await Pipeline.build({ retrievers: [{ plugin: 'overlap' }], rewriter: { plugin: 'expand' } }, registry, { docs });
    const [hit] = await p.search({ id: 'q', text: 'purr' }, { k: 1 });
    expect(hit!.id).toBe('1');
    expect(hit!.explain).toEqual({ expandedWith: '1' });
  });

  it('saves and loads a pipeline with its docs', async () => {
    const p = await Pipeline.build({ name: 'saved', retrievers: [{ plugin: 'overlap' }] }, registry, { docs });
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-pipe-')), 'p');
    await p.save(dir);
    const q = await Pipeline.load(dir, registry);
    expect(q.name).toBe('saved');
    expect(q.docs.size).toBe(3);
    expect(await q.search('dogs')).toEqual(await p.search('dogs'));
    const ac = new AbortController();
    ac.abort();
    await expect(Pipeline.load(dir, registry, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('honours an aborted signal', async () => {
    const p = await Pipeline.build({ retrievers: [{ plugin: 'overlap' }], reranker: { plugin: 'reverse' } }, registry, { docs });
    const ac = new AbortController();
    ac.abort();
    await expect(p.search('cats', { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
