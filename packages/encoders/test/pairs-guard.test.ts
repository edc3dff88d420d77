import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadSplit, openBeirDataset, readCorpus, type Doc, type Query } from '@quarry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContaminationError, ContaminationGuard, inverseClozePairs, manifestPath, randomNegatives, supervisedPairs, writeGuardedPairs, writePairs } from '../src/index.js';
import { SCIFACT, tempDir } from './helpers.js';

let guard: ContaminationGuard;
let test: { queries: Query[] };
let docs: Doc[];

beforeAll(async () => {
  guard = await ContaminationGuard.fromBeir(SCIFACT);
  test = await loadSplit(openBeirDataset(SCIFACT), 'test');
  docs = [];
  for await (const d of readCorpus(join(SCIFACT, 'corpus.jsonl.gz'))) docs.push(d);
});

const line = (query: string, positive = 'some positive passage'): string => JSON.stringify({ query, positive, negative_1: 'a negative' });

describe('ContaminationGuard (SciFact test + test-unseen)', () => {
  it('holds the 300 test queries (test-unseen is a subset of test)', () => {
    expect(guard.splits).toEqual(['test', 'test-unseen']);
    expect(guard.queryCount).toBe(300);
  });

  it('passes a clean file and catches a contaminated one, naming the line and the query', async () => {
    const dir = tempDir();
    const clean = join(dir, 'clean.jsonl.gz');
    writeFileSync(clean, gzipSync([line('What causes myelodysplasia?'), line('ICT sentence about T cells and their receptors.')].join('\n')));
    await expect(guard.checkFile(clean)).resolves.toMatchObject({ lines: 2, splits: ['test', 'test-unseen'] });

    const q = test.queries[7]!;
    const dirty = join(dir, 'dirty.jsonl.gz');
    writeFileSync(dirty, gzipSync([line('What causes myelodysplasia?'), line(q.text)].join('\n')));
    const err = await guard.checkFile(dirty).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContaminationError);
    expect((err as ContaminationError).violations).toEqual([`line 2: query text is held-out query ${q.id}`]);
    expect((err as Error).message).toMatch(/contaminated by held-out evaluation data/);
  });

  it('compares normalized text, and finds a held-out query inside a longer query', () => {
    const q = test.queries[3]!;
    expect(guard.queryTextViolation(`  ${q.text.toUpperCase().replace(/\.$/, '')} !!`)).toBe(`query text is held-out query ${q.id}`);
    expect(guard.queryTextViolation(`Background: ${q.text} More text follows here.`)).toBe(`query text contains held-out query ${q.id}`);
    expect(guard.queryTextViolation('Neutrophil extracellular traps in vasculitis')).toBeUndefined();
  });

  it('checks the ids in a manifest: a held-out query id, and a held-out (query, document) qrel', async () => {
    const file = join(tempDir(), 'ids.jsonl');
    // The texts are clean; only the manifest says these lines came from test query 1 and its positive.
    await writePairs(
      file,
      [
        { query: 'a paraphrase nobody would recognise', positive: 'doc text', negatives: [], queryId: '1', positiveId: '31715818' },
        { query: 'another clean one', positive: 'doc text', negatives: [], queryId: 'train-3' },
      ],
      { source: 'test', seed: 1, options: {}, dropped: {}, guardedAgainst: [] },
    );
    const err = (await guard.checkFile(file).catch((e: unknown) => e)) as ContaminationError;
    expect(err).toBeInstanceOf(ContaminationError);
    expect(err.violations).toEqual(['line 1 (manifest): query id 1 is a held-out query (test/test-unseen)', 'line 1 (manifest): (1, 31715818) is a held-out qrel']);
    expect(manifestPath(file)).toBe(`${file}.manifest.json`);
  });

  it('writeGuardedPairs refuses contaminated records before writing anything', async () => {
    const file = join(tempDir(), 'never.jsonl.gz');
    const records = [{ query: test.queries[0]!.text, positive: 'p', negatives: [] }];
    await expect(writeGuardedPairs(file, { records, dropped: {} }, { guard, source: 'x', seed: 1 })).rejects.toBeInstanceOf(ContaminationError);
    const { existsSync } = await import('node:fs');
    expect(existsSync(file)).toBe(false);
  });

  it('supervisedPairs refuses the test split, and drops the two train queries that repeat test queries word for word', async () => {
    await expect(supervisedPairs({ ...(await loadSplit(openBeirDataset(SCIFACT), 'test-unseen')), docs, guard })).rejects.toThrow(/query id \d+ is a held-out query/);
    const train = await loadSplit(openBeirDataset(SCIFACT), 'train');
    const { records, dropped } = await supervisedPairs({
      ...train,
      docs,
      guard,
      miner: randomNegatives(
        docs.map((d) => d.id),
        2,
        1,
      ),
    });
    // SciFact train 871 and 1291 have the texts of test 870 and 1292.
    expect(dropped).toEqual({ 'train query with a held-out query text': 2 });
    expect(records.some((r) => r.queryId === '871' || r.queryId === '1291')).toBe(false);
    expect(records.length).toBe(917);
    guard.assertClean(records, 'train');
  });

  it('the corpus holds a test query verbatim (doc 17741440 contains claim 845): ICT drops it under the guard, and would be caught without', async () => {
    const doc = docs.filter((d) => d.id === '17741440');
    const all = await inverseClozePairs(doc, { perDoc: 100 });
    expect(() => guard.assertClean(all.records, 'ict')).toThrow(/contains held-out query 845/);
    const guarded = await inverseClozePairs(doc, { perDoc: 100, guard });
    expect(guarded.records.length).toBe(all.records.length - 1);
    expect(guarded.dropped).toEqual({ 'held-out query text': 1 });
  });
});
