import type { DocScorer, Hit, Query, Retriever, SearchOptions } from '@quarry/core';

/** Test-only teacher: returns the scores it was given, so filter outcomes can be computed by hand. */
export class TableTeacher implements Retriever, DocScorer {
  readonly name = 'table';
  constructor(private readonly table: Record<string, Record<string, number>>) {}
  async search(q: Query | string, o?: SearchOptions): Promise<Hit[]> {
    return (await this.searchBatch([q], o))[0]!;
  }
  async searchBatch(qs: readonly (Query | string)[], o: SearchOptions = {}): Promise<Hit[][]> {
    return qs.map((q) => {
      const id = typeof q === 'string' ? q : q.id;
      return Object.entries(this.table[id] ?? {})
        .map(([doc, score]) => ({ id: doc, score }))
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
        .slice(0, o.k ?? 10);
    });
  }
  async scoreDocs(q: Query | string, ids: readonly string[]): Promise<Float64Array> {
    const id = typeof q === 'string' ? q : q.id;
    return Float64Array.from(ids.map((d) => this.table[id]?.[d] ?? Number.NaN));
  }
}
