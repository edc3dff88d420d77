import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, useTemporaryCache } from './helpers.js';

beforeAll(useTemporaryCache);

/** A three-document BEIR folder: enough to build and save a bm25 pipeline in milliseconds. */
function tinyDataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-tiny-'));
  const docs = [
    { _id: 'd1', title: 'Cats', text: 'cats purr softly at night' },
    { _id: 'd2', title: 'Dogs', text: 'dogs bark loudly at strangers' },
    { _id: 'd3', title: 'Birds', text: 'birds sing in the morning' },
  ];
  writeFileSync(join(dir, 'corpus.jsonl'), `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`);
  writeFileSync(join(dir, 'queries.jsonl'), `${JSON.stringify({ _id: 'q1', text: 'cats' })}\n`);
  mkdirSync(join(dir, 'qrels'));
  writeFileSync(join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
  return dir;
}

describe('config validation in the CLI (issue #15)', () => {
  it('search --index refuses a --pipeline that disagrees with the saved index, naming the one it holds', async () => {
    const data = tinyDataset();
    const work = mkdtempSync(join(tmpdir(), 'quarry-idx-'));
    const index = join(work, 'idx');
    const file = join(work, 'soft.yaml');
    writeFileSync(file, 'name: bm25-soft\nretrievers:\n  - plugin: bm25\n    options: { b: 0.9 }\n');
    expect((await cli('index', '--dataset', data, '--pipeline', 'bm25', '--out', index, '--quiet')).code).toBe(0);

    const byName = await cli('search', '--index', index, '--pipeline', 'dense', 'cats');
    expect(byName.code).toBe(2);
    expect(byName.err).toMatch(/CONFIG_INVALID.*The index .*idx holds pipeline "bm25", not "dense"/);
    const byFile = await cli('search', '--index', index, '--pipeline', file, 'cats');
    expect(byFile.code).toBe(2);
    expect(byFile.err).toMatch(/holds pipeline "bm25", whose config differs from .*soft\.yaml/);

    // The same pipeline (or none) searches the index; --pipeline without --index still defaults to bm25.
    for (const extra of [[], ['--pipeline', 'bm25']]) {
      const ok = await cli('search', '--index', index, ...extra, '--json', 'cats');
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.out).hits[0].id).toBe('d1');
    }
    const dataset = await cli('search', '--dataset', data, '--json', '--no-cache', 'cats');
    expect(JSON.parse(dataset.out).pipeline).toBe('bm25');
  });

  it('a misspelled option in a pipeline file names the file, the path and the closest key', async () => {
    const data = tinyDataset();
    const file = join(mkdtempSync(join(tmpdir(), 'quarry-pipe-')), 'typo.yaml');
    writeFileSync(file, 'retrievers:\n  - plugin: bm25\n    options: { bb: 0.5 }\n');
    const typo = await cli('index', '--dataset', data, '--pipeline', file, '--out', join(data, '..', 'never'));
    expect(typo.code).toBe(2);
    expect(typo.err).toContain(`Invalid options for retriever plugin "bm25" in ${file}:\n  - retrievers[0].options.bb: Unrecognized key: "bb" (did you mean "b"?)`);

    writeFileSync(file, 'retrievers:\n  - plugin: bm25\n    options: { b: 2 }\nfusion: { method: rrf }\ndepht: 10\n');
    const shape = await cli('index', '--dataset', data, '--pipeline', file, '--out', join(data, '..', 'never'));
    expect(shape.code).toBe(2);
    expect(shape.err).toContain(`Invalid pipeline config in ${file}:\n  - depht: Unrecognized key: "depht" (did you mean "depth"?)`);

    writeFileSync(file, 'retrievers:\n  - plugin: bm52\n');
    const plugin = await cli('index', '--dataset', data, '--pipeline', file, '--out', join(data, '..', 'never'));
    expect(plugin.code).toBe(2);
    expect(plugin.err).toMatch(/Plugin "bm52" is not a built-in retriever plugin \(did you mean "bm25"\?\)/);

    const name = await cli('index', '--dataset', data, '--pipeline', 'hybird', '--out', join(data, '..', 'never'));
    expect(name.code).toBe(2);
    expect(name.err).toMatch(/Unknown pipeline "hybird" \(did you mean "hybrid"\?\)\. Use one of: bm25/);
  });
});
