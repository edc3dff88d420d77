import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { evaluate, parseMetric, trecEvalOrder, type Qrels, type Run } from '../src/index.js';

const qrels = (rows: [string, string, number][]): Qrels => {
  const q: Qrels = new Map();
  for (const [qid, doc, rel] of rows) {
    if (!q.has(qid)) q.set(qid, new Map());
    q.get(qid)!.set(doc, rel);
  }
  return q;
};
const run = (rows: [string, string, number][]): Run => {
  const r = new Map<string, { id: string; score: number }[]>();
  for (const [qid, id, score] of rows) {
    if (!r.has(qid)) r.set(qid, []);
    r.get(qid)!.push({ id, score });
  }
  return r;
};

describe('metrics match trec_eval', () => {
  // Published pytrec_eval (trec_eval's C code) outputs, from ir_measures' test suite.
  const judged = qrels([
    ['0', 'D0', 1],
    ['0', 'D1', -1],
    ['0', 'D2', 0],
    ['0', 'D3', 2],
    ['0', 'D4', 0],
    ['1', 'D0', 1],
    ['1', 'D3', 2],
    ['1', 'D4', -1],
    ['1', 'D5', 0],
  ]);
  const ranked = run([
    ['0', 'D0', 0.8],
    ['0', 'D2', 0.7],
    ['0', 'D1', 0.3],
    ['0', 'D3', 0.4],
    ['0', 'D4', 0.1],
    ['1', 'D1', 0.8],
    ['1', 'D4', 0.7],
    ['1', 'D3', 0.3],
    ['1', 'D2', 0.4],
  ]);

  it('map equals trec_eval on the pytrec_eval reference case', () => {
    const r = evaluate(ranked, judged, ['map']);
    expect(r.perQuery['map']!['0']).toBeCloseTo(0.8333, 4);
    expect(r.perQuery['map']!['1']).toBe(0.125);
    expect(r.metrics['map']).toBeCloseTo(0.47916666666666663, 12);
  });

  it('set precision/recall through P@k and recall@k at full depth', () => {
    const judged2 = qrels([
      ['0', 'D0', 0],
      ['0', 'D1', 1],
      ['0', 'D2', 2],
      ['0', 'D3', 2],
      ['0', 'D4', 0],
      ['1', 'D0', 1],
      ['1', 'D3', 2],
      ['1', 'D5', 0],
    ]);
    const r = evaluate(ranked, judged2, ['recall@1000', 'p@5', 'p@4']);
    // trec_eval SetR: q0 1.0, q1 0.5 (mean 0.75). P@5 of q0 = 3/5; P@4 of q1 = 1/4.
    expect(r.perQuery['recall@1000']).toEqual({ '0': 1, '1': 0.5 });
    expect(r.metrics['recall@1000']).toBe(0.75);
    expect(r.perQuery['p@5']!['0']).toBe(0.6);
    expect(r.perQuery['p@4']!['1']).toBe(0.25);
  });

  it('ndcg@k uses graded gain, log2 discount and the ideal ranking truncated at k', () => {
    const r = evaluate(ranked, judged, ['ndcg@3', 'ndcg@10']);
    // q0 order: D0(1) D2(0) D3(2) D1(-1) D4(0); ideal grades [2,1]
    const dcg3 = 1 / Math.log2(2) + 2 / Math.log2(4);
    const idcg = 2 / Math.log2(2) + 1 / Math.log2(3);
    expect(r.perQuery['ndcg@3']!['0']).toBeCloseTo(dcg3 / idcg, 12);
    // q1 order: D1(-) D4(-1) D2(-) D3(2); ideal [2,1]
    expect(r.perQuery['ndcg@3']!['1']).toBe(0);
    expect(r.perQuery['ndcg@10']!['1']).toBeCloseTo(2 / Math.log2(5) / idcg, 12);
  });

  it('breaks score ties by doc id descending, as trec_eval does', () => {
    const ordered = trecEvalOrder([
      { id: 'a', score: 1 },
      { id: 'c', score: 1 },
      { id: 'b', score: 2 },
      { id: 'b2', score: 1 },
    ]);
    expect(ordered.map((h) => h.id)).toEqual(['b', 'c', 'b2', 'a']);
    // The tie order changes metrics: relevant 'a' sits last among the tied docs.
    const r = evaluate(
      run([
        ['q', 'a', 1],
        ['q', 'z', 1],
      ]),
      qrels([['q', 'a', 1]]),
      ['mrr@10'],
    );
    expect(r.metrics['mrr@10']).toBe(0.5);
  });

  it('mrr@k only looks at the top k; rprec uses R = number of relevant docs', () => {
    const q = qrels([
      ['q', 'x', 1],
      ['q', 'y', 1],
    ]);
    const rr = run([
      ['q', 'a', 5],
      ['q', 'b', 4],
      ['q', 'x', 3],
      ['q', 'y', 2],
    ]);
    const r = evaluate(rr, q, ['mrr@2', 'mrr@3', 'rprec', 'map']);
    expect(r.metrics['mrr@2']).toBe(0);
    expect(r.metrics['mrr@3']).toBeCloseTo(1 / 3, 12);
    expect(r.metrics['rprec']).toBe(0);
    expect(r.metrics['map']).toBeCloseTo((1 / 3 + 2 / 4) / 2, 12);
  });

  it('counts qrels queries missing from the run as zero (trec_eval -c) and ignores unjudged run queries', () => {
    const r = evaluate(
      run([
        ['q1', 'd', 1],
        ['extra', 'd', 1],
      ]),
      qrels([
        ['q1', 'd', 1],
        ['q2', 'e', 1],
      ]),
      ['ndcg@10'],
    );
    expect(r.queries).toBe(2);
    expect(r.metrics['ndcg@10']).toBe(0.5);
  });

  it('P@k divides by k even when fewer documents are ranked', () => {
    const r = evaluate(run([['q', 'd', 1]]), qrels([['q', 'd', 1]]), ['p@10']);
    expect(r.metrics['p@10']).toBe(0.1);
  });

  it('rejects duplicate docs in a ranking and unknown metric names', () => {
    expect(() =>
      evaluate(
        run([
          ['q', 'd', 1],
          ['q', 'd', 2],
        ]),
        qrels([['q', 'd', 1]]),
        ['map'],
      ),
    ).toThrow(/twice/);
    expect(() => parseMetric('ndcg@0')).toThrow(/Unknown metric/);
    expect(() => parseMetric('bleu')).toThrow(/ndcg@k/);
  });

  it('properties: every metric lies in [0, 1]; a perfect ranking scores 1 on ndcg, map and rprec', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 30 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 10, maxLength: 10 }),
        (ranking, relevant, grades) => {
          const q = qrels(relevant.map((d, i) => ['q', `d${d}`, grades[i]!]));
          const r = evaluate(run(ranking.map((d, i) => ['q', `d${d}`, 100 - i])), q, ['ndcg@10', 'map', 'mrr@10', 'recall@5', 'p@5', 'rprec']);
          for (const v of Object.values(r.metrics)) {
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThanOrEqual(1 + 1e-12);
          }
          const ideal = [...relevant].map((d, i) => ({ d, g: grades[i]! })).sort((a, b) => b.g - a.g);
          const perfect = evaluate(run(ideal.map((x, i) => ['q', `d${x.d}`, 100 - i])), q, ['ndcg@10', 'map', 'rprec']);
          expect(perfect.metrics['ndcg@10']).toBeCloseTo(1, 12);
          expect(perfect.metrics['map']).toBeCloseTo(1, 12);
          expect(perfect.metrics['rprec']).toBeCloseTo(1, 12);
        },
      ),
    );
  });
});
