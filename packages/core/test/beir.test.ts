import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DatasetError, formatTrecRun, loadSplit, openBeirDataset, readCorpus, readQrels, readTrecRun } from '../src/index.js';

const scifact = join(__dirname, '../../../datasets/scifact');

function tmpDataset(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-beir-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), name.endsWith('.gz') ? gzipSync(content) : content);
  }
  return dir;
}

describe('BEIR dataset I/O', () => {
  it('streams the bundled SciFact corpus and splits', async () => {
    const ds = openBeirDataset(scifact);
    expect(Object.keys(ds.qrelsFiles)).toEqual(['test', 'test-unseen', 'train']);
    let n = 0;
    let first;
    for await (const doc of readCorpus(ds.corpusFile)) {
      first ??= doc;
      n++;
    }
    expect(n).toBe(5183);
    expect(first!.id).toBe('4983');
    const test = await loadSplit(ds, 'test');
    expect(test.queries).toHaveLength(300);
    expect([...test.qrels.values()].reduce((s, m) => s + m.size, 0)).toBe(339);
    const unseen = await loadSplit(ds, 'test-unseen');
    expect(unseen.queries).toHaveLength(104);
    const train = await loadSplit(ds, 'train');
    expect(train.queries).toHaveLength(809);
  });

  it('names the file and line of a malformed corpus line', async () => {
    const dir = tmpDataset({
      'corpus.jsonl': '{"_id":"1","text":"ok"}\n{"_id":"2","text":\n',
      'queries.jsonl': '{"_id":"q","text":"x"}\n',
    });
    const ds = openBeirDataset(dir);
    const err = await (async () => {
      for await (const _ of readCorpus(ds.corpusFile));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).line).toBe(2);
    expect((err as DatasetError).message).toMatch(/corpus\.jsonl:2: invalid JSON/);
  });

  it('rejects a document without text, and a missing split with the list of splits', async () => {
    const dir = tmpDataset({
      'corpus.jsonl.gz': '{"_id":"1","title":"t"}\n',
      'queries.jsonl': '{"_id":"q","text":"x"}\n',
      'qrels/dev.tsv': 'query-id\tcorpus-id\tscore\nq\t1\t1\n',
    });
    const ds = openBeirDataset(dir);
    await expect(
      (async () => {
        for await (const _ of readCorpus(ds.corpusFile));
      })(),
    ).rejects.toThrow(/has no string "text"/);
    await expect(loadSplit(ds, 'test')).rejects.toThrow(/available splits: dev/);
    expect(() => openBeirDataset(join(dir, 'nope'))).toThrow(DatasetError);
  });

  it('reads TREC qrels and round-trips TREC run files exactly', async () => {
    const dir = tmpDataset({ 'q.txt': 'q1 0 d1 2\nq1 0 d2 0\n', 'bad.txt': 'q1 0 d1\nq1 0 d1 x 1\n' });
    const q = await readQrels(join(dir, 'q.txt'));
    expect(q.get('q1')).toEqual(
      new Map([
        ['d1', 2],
        ['d2', 0],
      ]),
    );
    await expect(readQrels(join(dir, 'bad.txt'))).rejects.toThrow(/bad\.txt:2/);
    const run = new Map([
      [
        'q1',
        [
          { id: 'd2', score: 0.1 + 0.2 },
          { id: 'd1', score: 7 },
        ],
      ],
    ]);
    const text = formatTrecRun(run, 'tag');
    expect(text.split('\n')[0]).toBe('q1 Q0 d1 1 7 tag');
    writeFileSync(join(dir, 'run.trec'), text);
    const back = await readTrecRun(join(dir, 'run.trec'));
    expect(back.get('q1')).toEqual([
      { id: 'd1', score: 7 },
      { id: 'd2', score: 0.1 + 0.2 },
    ]);
  });
});

describe('strict corpus reading', () => {
  const drain = async (it: AsyncIterable<unknown>) => {
    let n = 0;
    for await (const _ of it) n++;
    return n;
  };

  it('fails on bytes that are not UTF-8, naming file and line; replacement is opt-in and counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-beir-'));
    const file = join(dir, 'corpus.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from('{"_id":"1","text":"ok"}\n{"_id":"2","text":"caf'), Buffer.from([0xe9]), Buffer.from('"}\r\n{"_id":"3","text":"fine"}\n')]));
    const err = await drain(readCorpus(file)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).message).toMatch(/corpus\.jsonl:2: is not valid UTF-8 \(byte 0xe9 at column 23\)/);
    const replaced: number[] = [];
    const docs = [];
    for await (const d of readCorpus(file, { allowInvalidUtf8: true, onInvalidUtf8: (line) => replaced.push(line) })) docs.push(d);
    expect(replaced).toEqual([2]);
    expect(docs.map((d) => d.text)).toEqual(['ok', 'caf\uFFFD', 'fine']);
    // The same file gzipped, split across reads the same way.
    writeFileSync(join(dir, 'c.jsonl.gz'), gzipSync(Buffer.concat([Buffer.from('{"_id":"1","text":"a"}\n'), Buffer.from([0xff, 0x0a])])));
    await expect(drain(readCorpus(join(dir, 'c.jsonl.gz')))).rejects.toThrow(/c\.jsonl\.gz:2: is not valid UTF-8/);
  });

  it('fails on an empty corpus', async () => {
    const dir = tmpDataset({ 'corpus.jsonl': '\n\n' });
    await expect(drain(readCorpus(openBeirDataset(dir).corpusFile))).rejects.toMatchObject({
      code: 'DATASET_MALFORMED',
      message: expect.stringMatching(/corpus\.jsonl: the corpus holds no documents/),
    });
  });

  it('names the file and both lines of a duplicate _id', async () => {
    const dir = tmpDataset({ 'corpus.jsonl': '{"_id":"a","text":"x"}\n{"_id":"b","text":"y"}\n\n{"_id":"a","text":"z"}\n' });
    await expect(drain(readCorpus(join(dir, 'corpus.jsonl')))).rejects.toMatchObject({
      code: 'DUPLICATE_ID',
      message: expect.stringMatching(/corpus\.jsonl:4: id "a" was already used on line 1/),
      details: { id: 'a', line: 4, firstLine: 1 },
    });
  });

  it('opens a folder with only corpus.jsonl; evaluating it says queries are missing', async () => {
    const dir = tmpDataset({ 'corpus.jsonl': '{"_id":"a","text":"x"}\n', 'qrels/test.tsv': 'q\ta\t1\n' });
    const ds = openBeirDataset(dir);
    expect(ds.queriesFile).toBeUndefined();
    expect(await drain(readCorpus(ds.corpusFile))).toBe(1);
    await expect(loadSplit(ds, 'test')).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND', message: expect.stringMatching(/missing queries\.jsonl/) });
  });
});
