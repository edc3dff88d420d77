import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError, MemoryDocStore, SeededRandom, parseConfig, type Qrels } from '@quarry/core';
import { FalseNegativeOracle, MiningStats, filterCandidates, fitTuple, formatExample, scoreScale, histogramSvg, mineBatch, mineToFile, miningOptionsSchema, selectNegatives } from '../src/index.js';
import { TableTeacher } from './helpers.js';

const opts = (o: Record<string, unknown> = {}) => parseConfig(miningOptionsSchema, o, 'mining options');
const hits = (scores: number[]) => scores.map((score, i) => ({ id: `d${i}`, score }));

describe('filters (NV-Retriever section 3)', () => {
  // Teacher list: d0 is the positive (0.80); candidates d1..d9 score 0.90 down to 0.10.
  const ranked = [{ id: 'p', score: 0.8 }, ...hits([0.9, 0.79, 0.77, 0.74, 0.7, 0.5, 0.3, 0.2, 0.1]).map((h) => ({ ...h, id: `n${h.id}` }))];
  const pos = new Set(['p']);
  const kept = (o: Record<string, unknown>) => filterCandidates(ranked, pos, 0.8, opts(o)).kept.map((h) => h.score);

  it('naive keeps every non-positive in rank order', () => {
    expect(kept({ method: 'naive' })).toEqual([0.9, 0.79, 0.77, 0.74, 0.7, 0.5, 0.3, 0.2, 0.1]);
  });
  it('shifted skips the first N non-positives', () => {
    expect(kept({ method: 'shifted', shift: 3 })).toEqual([0.74, 0.7, 0.5, 0.3, 0.2, 0.1]);
  });
  it('abs drops candidates above the threshold', () => {
    expect(kept({ method: 'abs', absThreshold: 0.7 })).toEqual([0.7, 0.5, 0.3, 0.2, 0.1]);
  });
  it('margin-pos keeps score < pos - margin', () => {
    expect(kept({ method: 'margin-pos', margin: 0.05 })).toEqual([0.74, 0.7, 0.5, 0.3, 0.2, 0.1]);
  });
  it('perc-pos keeps score < pos * perc', () => {
    // 0.8 * 0.95 = 0.76: 0.77 is removed, 0.74 kept
    expect(kept({ method: 'perc-pos', perc: 0.95 })).toEqual([0.74, 0.7, 0.5, 0.3, 0.2, 0.1]);
    expect(kept({ method: 'perc-pos', perc: 0.5 })).toEqual([0.3, 0.2, 0.1]);
  });
  it('range and score bounds compose with the method, each removal charged once', () => {
    const r = filterCandidates(ranked, pos, 0.8, opts({ method: 'perc-pos', rangeMin: 1, rangeMax: 7, minScore: 0.25 }));
    expect(r.kept.map((h) => h.score)).toEqual([0.74, 0.7, 0.5, 0.3]);
    expect(r.removed.positive).toHaveLength(1);
    expect(r.removed.range.map((h) => h.score)).toEqual([0.9, 0.2, 0.1]);
    expect(r.removed.method.map((h) => h.score)).toEqual([0.79, 0.77]);
    expect(r.removed['score-bounds']).toHaveLength(0);
  });
  it('minmax-per-query compares the method on [0, 1] per query; bounds stay raw', () => {
    // Same list on a BM25-like scale (x 30): raw abs 0.7 removes everything, normalised it removes the top.
    const scaled = ranked.map((h) => ({ ...h, score: h.score * 30 }));
    expect(filterCandidates(scaled, pos, 24, opts({ method: 'abs' })).kept).toEqual([]);
    const scale = scoreScale('minmax-per-query', scaled, [24]);
    expect(scale(27)).toBe(1);
    expect(scale(3)).toBe(0);
    const r = filterCandidates(scaled, pos, 24, opts({ method: 'abs', normalize: 'minmax-per-query', maxScore: 20 }), scale);
    // (s - 3) / 24 <= 0.7  <=>  s <= 19.8: 27, 23.7, 23.1, 22.2, 21 are removed by the method, none by the raw bound 20
    expect(r.kept.map((h) => h.score)).toEqual([15, 9, 6, 3].map((x) => expect.closeTo(x, 9)));
    expect(r.removed.method).toHaveLength(5);
    expect(r.removed['score-bounds']).toHaveLength(0);
    expect(() => opts({ method: 'naive', normalize: 'minmax-per-query' })).toThrow(/normalize: .*method naive ignores scores/);
  });
  it('rejects invalid parameter combinations with the offending path', () => {
    expect(() => opts({ perc: 1.5 })).toThrow(/perc: perc must be in \(0, 1\]/);
    expect(() => opts({ perc: 0 })).toThrow(ConfigError);
    expect(() => opts({ rangeMin: 5, rangeMax: 5 })).toThrow(/rangeMax/);
    expect(() => opts({ selection: 'sample', sampleFrom: 2, negatives: 4 })).toThrow(/sampleFrom/);
    expect(() => opts({ method: 'magic' })).toThrow(/method/);
  });
});

describe('selection', () => {
  const pool = hits([5, 4, 3, 2, 1, 0.5, 0.2, 0.1, 0, -1, -2]);
  it('sampled negatives come from the top sampleFrom, without repeats, reproducibly', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 5, max: 11 }),
        fc.constantFrom('sample', 'top1-sample'),
        fc.constantFrom('uniform', 'softmax'),
        (seed, n, from, selection, sampling) => {
          const o = opts({ selection, sampling, sampleFrom: from, negatives: n });
          const a = selectNegatives(pool, n, o, new SeededRandom(seed));
          const b = selectNegatives(pool, n, o, new SeededRandom(seed));
          expect(a).toEqual(b);
          expect(new Set(a.map((h) => h.id)).size).toBe(n);
          expect(a.every((h) => pool.indexOf(h) < from)).toBe(true);
          if (selection === 'top1-sample') expect(a[0]).toBe(pool[0]);
        },
      ),
    );
  });
  it('softmax sampling favours high teacher scores; uniform does not', () => {
    const count = (sampling: string) => {
      const o = opts({ selection: 'sample', sampling, sampleFrom: 10, negatives: 1, temperature: 0.5 });
      const rng = new SeededRandom(1);
      let top = 0;
      for (let i = 0; i < 2000; i++) if (selectNegatives(pool, 1, o, rng)[0]!.id === 'd0') top++;
      return top / 2000;
    };
    expect(count('softmax')).toBeGreaterThan(0.8); // e^(5/.5) dominates the pool
    expect(count('uniform')).toBeCloseTo(0.1, 1);
  });
});

const docs = new MemoryDocStore(['p1', 'p2', 'a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, title: `T${id}`, text: `text ${id}` })));
const qrels = (rows: [string, string][]): Qrels => {
  const q: Qrels = new Map();
  for (const [qid, d] of rows) q.set(qid, new Map([...(q.get(qid) ?? []), [d, 1]]));
  return q;
};

describe('mining queries', () => {
  it('caps with the minimum positive score when a query has several positives', async () => {
    const teacher = { name: 't', retriever: new TableTeacher({ q: { p1: 0.9, p2: 0.6, a: 0.85, b: 0.58, c: 0.55, d: 0.3 } }) };
    const stats = new MiningStats();
    const [ex] = await mineBatch(
      [{ id: 'q', text: 'q' }],
      qrels([
        ['q', 'p1'],
        ['q', 'p2'],
      ]),
      docs,
      [teacher],
      opts({ method: 'perc-pos', perc: 0.95, negatives: 2 }),
      { mode: 'intra', dedup: false },
      stats,
    );
    // cap = min(0.9, 0.6) * 0.95 = 0.57: a (0.85) and b (0.58) are removed
    expect(ex!.negatives.map((n) => n.id)).toEqual(['c', 'd']);
    expect(ex!.positives).toEqual([
      { id: 'p1', score: 0.9 },
      { id: 'p2', score: 0.6 },
    ]);
    expect(stats.teachers['t']!.removed.method).toBe(2);
    expect(stats.pairs).toBe(2);
  });

  it('scores positives outside the top k through DocScorer', async () => {
    const teacher = { name: 't', retriever: new TableTeacher({ q: { p1: 0.1, a: 0.9, b: 0.08, c: 0.05 } }) };
    const [ex] = await mineBatch(
      [{ id: 'q', text: 'q' }],
      qrels([['q', 'p1']]),
      docs,
      [teacher],
      opts({ method: 'perc-pos', depth: 1, negatives: 1 }),
      { mode: 'intra', dedup: false },
      new MiningStats(),
    );
    expect(ex!.positives[0]!.score).toBe(0.1);
    // depth 1 (+1 for the positive) fetches a and p1... p1 is outside: only a is fetched and it is removed
    expect(ex!.negatives).toEqual([]);
  });

  it('skips and counts queries without positives or with positives missing from the corpus', async () => {
    const teacher = { name: 't', retriever: new TableTeacher({ q1: { a: 1 }, q2: { a: 1 } }) };
    const stats = new MiningStats();
    const out = await mineBatch(
      [
        { id: 'q1', text: '' },
        { id: 'q2', text: '' },
        { id: 'q3', text: '' },
      ],
      qrels([
        ['q1', 'ghost'],
        ['q2', 'p1'],
        ['q2', 'ghost2'],
      ]),
      docs,
      [teacher],
      opts({ method: 'naive' }),
      { mode: 'intra', dedup: false },
      stats,
    );
    expect(out.map((e) => e.query.id)).toEqual(['q2']);
    expect(stats.skipped).toEqual({ noPositives: 2, positivesMissingFromCorpus: 2 });
    expect(stats.shortQueries).toBe(1); // q2 wanted 4 negatives, the teacher had 1
  });

  it('intra-sample ensembles take a share from each teacher, with or without dedup; cross-sample uses one teacher per query', async () => {
    const t1 = { name: 't1', retriever: new TableTeacher({ q: { p1: 1, a: 0.5, b: 0.4, c: 0.3 } }) };
    const t2 = { name: 't2', retriever: new TableTeacher({ q: { p1: 1, a: 0.6, d: 0.5, e: 0.2 } }) };
    const q = qrels([['q', 'p1']]);
    const run = async (mode: 'intra' | 'cross', dedup: boolean) =>
      (await mineBatch([{ id: 'q', text: '' }], q, docs, [t1, t2], opts({ method: 'naive', negatives: 4 }), { mode, dedup }, new MiningStats()))[0]!.negatives.map((n) => `${n.teacher}:${n.id}`);
    expect(await run('intra', false)).toEqual(['t1:a', 't1:b', 't2:a', 't2:d']);
    expect(await run('intra', true)).toEqual(['t1:a', 't1:b', 't2:d', 't2:e']);
    const cross = await run('cross', false);
    expect(new Set(cross.map((s) => s.split(':')[0])).size).toBe(1);
  });

  it('refuses abs and margin-pos on an unbounded teacher unless normalised, naming the normalisation in the stats', async () => {
    const bm25Like = new TableTeacher({ q: { p1: 24, a: 27, b: 21, c: 12, d: 3 } });
    const run = (o: Record<string, unknown>, scoreRange?: { min: number; max: number }) =>
      mineBatch(
        [{ id: 'q', text: '' }],
        qrels([['q', 'p1']]),
        docs,
        [{ name: 'bm25', retriever: bm25Like, ...(scoreRange ? { scoreRange } : {}) }],
        opts({ negatives: 2, ...o }),
        { mode: 'intra', dedup: false },
        new MiningStats(),
      );
    // Undeclared range: a score outside [-1, 1] gives it away.
    await expect(run({ method: 'abs' })).rejects.toThrow(/Method abs compares raw teacher scores with a fixed absThreshold 0.7.*scored 27, outside the cosine range.*--normalize minmax-per-query/);
    await expect(run({ method: 'margin-pos' })).rejects.toThrow(/margin 0.05/);
    // Declared unbounded: refused even if this query's scores happened to be small.
    const small = new TableTeacher({ q: { p1: 0.9, a: 0.5 } });
    await expect(
      mineBatch(
        [{ id: 'q', text: '' }],
        qrels([['q', 'p1']]),
        docs,
        [{ name: 'bm25', retriever: small, scoreRange: { min: 0, max: Infinity } }],
        opts({ method: 'abs' }),
        { mode: 'intra', dedup: false },
        new MiningStats(),
      ),
    ).rejects.toThrow(/declared range \[0, Infinity\]/);
    // perc-pos is scale-free; a declared bounded range is accepted as is.
    await expect(run({ method: 'perc-pos' })).resolves.toHaveLength(1);
    await expect(run({ method: 'abs', absThreshold: 25 }, { min: 0, max: 100 })).resolves.toHaveLength(1);
    const stats = new MiningStats();
    const [ex] = await mineBatch(
      [{ id: 'q', text: '' }],
      qrels([['q', 'p1']]),
      docs,
      [{ name: 'bm25', retriever: bm25Like }],
      opts({ method: 'abs', normalize: 'minmax-per-query', negatives: 2 }),
      { mode: 'intra', dedup: false },
      stats,
    );
    // scale (s - 3) / 24: a = 1, b = 0.75 removed; c = 0.375, d = 0 kept
    expect(ex!.negatives.map((n) => [n.id, n.score])).toEqual([
      ['c', 12],
      ['d', 3],
    ]);
    expect(stats.report().normalize).toBe('minmax-per-query');
  });

  it('fails clearly when a perc-pos teacher cannot score a positive', async () => {
    const blind = { name: 'blind', retriever: { name: 'blind', search: async () => [], searchBatch: async (qs: readonly unknown[]) => qs.map(() => []) } };
    await expect(mineBatch([{ id: 'q', text: '' }], qrels([['q', 'p1']]), docs, [blind], opts({ method: 'perc-pos' }), { mode: 'intra', dedup: false }, new MiningStats())).rejects.toThrow(
      /did not score positive "p1"/,
    );
  });
});

describe('labels', () => {
  it('flags labelled and sibling false negatives', () => {
    const oracle = new FalseNegativeOracle([
      qrels([
        ['q1', 'x'],
        ['q1', 'y'],
        ['q2', 'x'],
        ['q2', 'z'],
      ]),
      qrels([['q3', 'w']]),
    ]);
    expect(oracle.isLabelled('q1', 'y')).toBe(true);
    expect(oracle.isSiblingPositive('q1', 'z')).toBe(true); // q2 shares x with q1 and has z
    expect(oracle.isSiblingPositive('q1', 'w')).toBe(false);
    expect(oracle.isSiblingPositive('q3', 'x')).toBe(false);
  });
});

describe('output formats', () => {
  const ex = {
    query: { id: 'q', text: 'why' },
    positives: [{ id: 'p1', score: 2 }],
    negatives: [
      { id: 'a', score: 1, teacher: 't' },
      { id: 'b', score: 0.5, teacher: 't' },
    ],
  };
  it('writes the sentence-transformers layouts with ids and texts', () => {
    expect(formatExample(ex, 'triplet', docs)).toHaveLength(2);
    expect(formatExample(ex, 'triplet', docs)[0]).toEqual({ query_id: 'q', query: 'why', positive_id: 'p1', negative_id: 'a', positive: 'Tp1 text p1', negative: 'Ta text a' });
    expect(formatExample(ex, 'n-tuple-scores', docs)[0]).toEqual({
      query_id: 'q',
      query: 'why',
      positive_id: 'p1',
      negative_ids: ['a', 'b'],
      positive: 'Tp1 text p1',
      negative_1: 'Ta text a',
      negative_2: 'Tb text b',
      scores: [2, 1, 0.5],
    });
    expect(formatExample(ex, 'labeled-pair', docs).map((r) => r['label'])).toEqual([1, 0, 0]);
    expect(formatExample(ex, 'labeled-list', docs)[0]).toMatchObject({ passage_ids: ['p1', 'a', 'b'], labels: [1, 0, 0] });
    expect(formatExample(ex, 'n-tuple', docs)[0]).not.toHaveProperty('scores');
  });
  it('n-tuples short of negatives are dropped, or padded by repeating their negatives when asked', () => {
    expect(fitTuple(ex, 2, false)).toEqual({ example: ex, padded: false });
    expect(fitTuple(ex, 3, false)).toBeUndefined();
    expect(fitTuple(ex, 5, true)!.example.negatives.map((n) => n.id)).toEqual(['a', 'b', 'a', 'b', 'a']);
    expect(fitTuple({ ...ex, negatives: [] }, 3, true)).toBeUndefined();
  });
});

describe('mineToFile', () => {
  const table: Record<string, Record<string, number>> = {};
  const rows: [string, string][] = [];
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (let i = 0; i < 40; i++) {
    table[`q${i}`] = Object.fromEntries([['p1', 5 + (i % 3)], ...ids.map((d, j) => [d, ((i * 7 + j * 13) % 17) / 2])]);
    rows.push([`q${i}`, 'p1']);
  }
  const queries = Object.keys(table).map((id) => ({ id, text: `query ${id}` }));
  const teacher = { name: 't', retriever: new TableTeacher(table) };
  const base = {
    queries,
    qrels: qrels(rows),
    docs,
    teachers: [teacher],
    format: 'labeled-list' as const,
    batchSize: 8,
    checkpointEvery: 0,
    options: { method: 'perc-pos' as const, selection: 'sample' as const, sampleFrom: 5, negatives: 3 },
  };

  it('rejects unknown options with a suggestion (issue #15 item 13)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'quarry-mine-')), 'x.jsonl');
    await expect(mineToFile({ ...base, out, overwite: true } as never)).rejects.toThrow(/Invalid mineToFile options:\n {2}- overwite: Unrecognized key: "overwite" \(did you mean "overwrite"\?\)/);
    await expect(mineToFile({ ...base, out, ensemble: { mode: 'cross', dedupe: true } } as never)).rejects.toThrow(/ensemble\.dedupe: .*did you mean "dedup"/);
    await expect(mineToFile({ ...base, out, options: { ...base.options, methd: 'abs' } } as never)).rejects.toThrow(/Invalid mining options:\n {2}- methd: .*did you mean "method"/);
    expect(existsSync(out)).toBe(false);
  });

  it('resumes a killed run without losing or repeating rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-mine-'));
    const whole = await mineToFile({ ...base, out: join(dir, 'whole.jsonl') });
    const ac = new AbortController();
    const out = join(dir, 'cut.jsonl');
    await expect(mineToFile({ ...base, out, signal: ac.signal, onProgress: (e) => e.done >= 24 && ac.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(existsSync(`${out}.checkpoint.json`)).toBe(true);
    expect(existsSync(out)).toBe(false);
    const resumed = await mineToFile({ ...base, out });
    expect(resumed.resumedFrom).toBe(24);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(dir, 'whole.jsonl'), 'utf8'));
    expect(resumed.report).toEqual(whole.report);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(40);
    expect(existsSync(`${out}.checkpoint.json`)).toBe(false);
    const selected = whole.report.teachers['t']!.selected;
    expect(selected).toBe(whole.report.histograms.sampled['selected']);
    expect(selected).toBeLessThanOrEqual(120);
    expect(120 - selected > 0).toBe(whole.report.shortQueries > 0);
    expect(histogramSvg(whole.report)).toMatch(new RegExp(`^<svg[\\s\\S]*mined negatives \\(n=${selected}\\)[\\s\\S]*</svg>\n$`));
  });

  it('n-tuple output drops queries short of negatives by default, pads them with pad: true, and reports both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-mine-'));
    const tuple = { ...base, format: 'n-tuple-scores' as const };
    const dropped = await mineToFile({ ...tuple, out: join(dir, 'drop.jsonl') });
    const short = dropped.report.shortQueries;
    expect(short).toBeGreaterThan(0);
    expect(dropped.report.tuples).toEqual({ droppedQueries: short, droppedRows: short, paddedQueries: 0, paddedRows: 0 });
    const kept = readFileSync(join(dir, 'drop.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(kept).toHaveLength(40 - short);
    for (const row of kept) expect(row['negative_ids']).toHaveLength(3);
    const padded = await mineToFile({ ...tuple, out: join(dir, 'pad.jsonl'), pad: true });
    const rowsOut = readFileSync(join(dir, 'pad.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const empty = rowsOut.length; // queries with no negative at all cannot be padded
    expect(padded.report.tuples.paddedQueries + padded.report.tuples.droppedQueries).toBe(short);
    expect(padded.report.tuples.paddedQueries).toBeGreaterThan(0);
    expect(empty).toBe(40 - padded.report.tuples.droppedQueries);
    for (const row of rowsOut) expect(row['negative_ids']).toHaveLength(3);
  });

  it('refuses to overwrite an existing output file unless asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-mine-'));
    const out = join(dir, 'done.jsonl');
    writeFileSync(out, 'precious\n');
    await expect(mineToFile({ ...base, out })).rejects.toThrow(/done\.jsonl already exists; pass overwrite: true \(--overwrite\)/);
    expect(readFileSync(out, 'utf8')).toBe('precious\n');
    expect(existsSync(`${out}.partial`)).toBe(false);
    await mineToFile({ ...base, out, overwrite: true });
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(40);
  });

  it('refuses to resume with different options', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-mine-'));
    const out = join(dir, 'x.jsonl');
    const ac = new AbortController();
    await mineToFile({ ...base, out, signal: ac.signal, onProgress: () => ac.abort() }).catch(() => undefined);
    await expect(mineToFile({ ...base, out, options: { ...base.options, perc: 0.9 } })).rejects.toThrow(/other inputs or options/);
  });
});

describe('batch independence', () => {
  it('mines the same negatives whatever the batch composition', async () => {
    const table: Record<string, Record<string, number>> = {
      q1: { p1: 9, a: 8, b: 7, c: 6, d: 5 },
      q2: { p1: 9, p2: 8.5, e: 8, f: 7, a: 6, b: 5 },
    };
    const teacher = { name: 't', retriever: new TableTeacher(table) };
    const q = qrels([
      ['q1', 'p1'],
      ['q2', 'p1'],
      ['q2', 'p2'],
    ]);
    const o = opts({ method: 'naive', depth: 2, negatives: 4 });
    const alone = await mineBatch([{ id: 'q1', text: '' }], q, docs, [teacher], o, { mode: 'intra', dedup: false }, new MiningStats());
    const together = await mineBatch(
      [
        { id: 'q1', text: '' },
        { id: 'q2', text: '' },
      ],
      q,
      docs,
      [teacher],
      o,
      { mode: 'intra', dedup: false },
      new MiningStats(),
    );
    expect(together[0]!.negatives).toEqual(alone[0]!.negatives);
    expect(alone[0]!.negatives.map((n) => n.id)).toEqual(['a', 'b']);
  });
});
