// The Boolean benchmark: rebuilt from SciFact it gives the committed files byte for byte, and
// its labels follow set logic on SciFact's qrels. Reproduce: cd packages/bool-attn && npx vitest run test/benchmark.test.ts
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadSplit, openBeirDataset, readQrels } from '@quarry/core';
import { bundledModelDir, loadOwnModel } from '@quarry/encoders';
import { BENCHMARK_TEMPLATES, TRAINING_TEMPLATES, buildBooleanBenchmark, compose, readBoolQueries } from '../src/index.js';

const BENCH = fileURLToPath(new URL('../benchmark/scifact-bool', import.meta.url));
const SCIFACT = fileURLToPath(new URL('../../../datasets/scifact', import.meta.url));

describe('the committed benchmark', () => {
  it('is what the generator writes (same bytes) and keeps its statistics', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bool-bench-')), 'scifact-bool');
    const { stats } = await buildBooleanBenchmark({ dataset: SCIFACT, out });
    expect(readFileSync(join(out, 'queries.jsonl.gz')).equals(readFileSync(join(BENCH, 'queries.jsonl.gz')))).toBe(true);
    const files = readdirSync(join(BENCH, 'qrels')).sort();
    expect(readdirSync(join(out, 'qrels')).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(out, 'qrels', f)).equals(readFileSync(join(BENCH, 'qrels', f))), f).toBe(true);
    expect(JSON.parse(readFileSync(join(BENCH, 'stats.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(stats)));
    const q = (s: string) => stats.splits[s]!.queries;
    expect([q('test-and'), q('test-or'), q('test-not'), q('test-plain')]).toEqual([65, 190, 194, 300]);
    expect([q('train-and'), q('train-or'), q('train-not'), q('train-plain')]).toEqual([480, 729, 734, 809]);
  });

  it('labels follow set logic on SciFact qrels, and no test query shares a source with training', async () => {
    const queries = await readBoolQueries(BENCH);
    const scifact = openBeirDataset(SCIFACT);
    const rel = new Map<string, Set<string>>();
    for (const split of ['train', 'test']) for (const [id, m] of (await loadSplit(scifact, split)).qrels) rel.set(id, new Set(m.keys()));
    const sources = { train: new Set<string>(), test: new Set<string>() };
    for (const split of ['train', 'test'] as const) {
      const qrels = await readQrels(join(BENCH, 'qrels', `${split}.tsv.gz`));
      for (const q of queries.filter((x) => x.meta.split === split && x.meta.op !== 'none')) {
        const [a, b] = q.meta.sources.map((s) => rel.get(s)!) as [Set<string>, Set<string>];
        const expected = q.meta.op === 'or' ? [...a, ...b] : q.meta.op === 'and' ? [...a].filter((d) => b.has(d)) : [...a].filter((d) => !b.has(d));
        expect([...qrels.get(q.id)!.keys()].sort(), q.id).toEqual([...new Set(expected)].sort());
        expect(expected.length).toBeGreaterThan(0);
        if (q.meta.op === 'not') expect([...b].some((d) => !a.has(d))).toBe(true); // distractors exist
        for (const s of q.meta.sources) sources[split].add(s);
        expect(q.text).toBe(q.meta.segments!.map((s) => s.text).join(''));
      }
    }
    expect([...sources.test].filter((s) => sources.train.has(s))).toEqual([]);
  });
});

describe('compose', () => {
  it('segments concatenate to the text and tokenise to the same ids as the whole query', async () => {
    const enc = await loadOwnModel(bundledModelDir('scifact-static'));
    const word = fc.stringMatching(/^[A-Za-z0-9-]{1,10}$/u);
    const clause = fc.array(word, { minLength: 1, maxLength: 6 }).map((w) => `${w.join(' ')}.`);
    fc.assert(
      fc.property(fc.constantFrom(...BENCHMARK_TEMPLATES, ...TRAINING_TEMPLATES), clause, clause, (t, a, b) => {
        const { text, segments } = compose(t, a, b);
        expect(segments.map((s) => s.text).join('')).toBe(text);
        expect(segments.filter((s) => s.role === 'cue').every((s) => s.op === t.op)).toBe(true);
        const parts = segments.flatMap((s) => [...enc.tokenize(s.text, 'query')]);
        expect(parts).toEqual([...enc.tokenize(text, 'query')]);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
