import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IndexCorruptError, QuarryError } from '@quarry/core';
import { Bm25Index, type Analyzer } from '../src/index.js';

const DOCS = [
  { id: 'a', title: 'Vitamin D', text: 'Vitamin D supplementation reduces fractures.' },
  { id: 'b', text: 'Smoking increases the risk of lung cancer.' },
  { id: 'c', text: 'Aspirin lowers the risk of heart attack.' },
  { id: 'd', text: 'Heart rate and exercise.' },
];
const root = mkdtempSync(join(tmpdir(), 'bm25-persist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `idx${n++}`);

async function saved(): Promise<string> {
  const dir = fresh();
  await (await Bm25Index.build(DOCS, { k1: 1.1, b: 0.6 })).save(dir);
  return dir;
}

/** Rewrites a file and its manifest entry, so only structural checks can notice. */
function tamper(dir: string, name: string, bytes: Uint8Array | string): void {
  writeFileSync(join(dir, name), bytes);
  const manifestFile = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const data = readFileSync(join(dir, name));
  manifest.files[name] = { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  writeFileSync(manifestFile, JSON.stringify(manifest));
}

describe('save and load', () => {
  it('writes a versioned, checksummed folder and reads it back with its parameters', async () => {
    const dir = await saved();
    expect(readdirSync(dir).sort()).toEqual(['doc-lengths.i32', 'ids.json', 'manifest.json', 'postings-docs.i32', 'postings-offsets.i32', 'postings-tfs.i32', 'terms.json']);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'quarry-bm25', version: 1, meta: { k1: 1.1, b: 0.6, lossyNorms: true, analyzer: 'english', docs: 4 } });
    const loaded = await Bm25Index.load(dir);
    expect([loaded.k1, loaded.b, loaded.lossyNorms, loaded.analyzer.name]).toEqual([1.1, 0.6, true, 'english']);
    const original = await Bm25Index.build(DOCS, { k1: 1.1, b: 0.6 });
    expect(await loaded.search('heart risk')).toEqual(await original.search('heart risk'));
  });

  it('lets scoring parameters be overridden at load (they apply at search time)', async () => {
    const loaded = await Bm25Index.load(await saved(), { k1: 0.9, b: 0.4, lossyNorms: false });
    const direct = await Bm25Index.build(DOCS, { lossyNorms: false });
    expect(await loaded.search('heart risk')).toEqual(await direct.search('heart risk'));
  });

  it('saves without deleted documents, and a loaded index can change again', async () => {
    const index = await Bm25Index.build(DOCS);
    index.delete('b');
    const dir = fresh();
    await index.save(dir);
    expect(JSON.parse(readFileSync(join(dir, 'ids.json'), 'utf8'))).toEqual(['a', 'c', 'd']);
    const loaded = await Bm25Index.load(dir);
    loaded.add({ id: 'e', text: 'Lung function in smokers.' });
    loaded.delete('c');
    expect((await loaded.search('lung heart')).map((h) => h.id).sort()).toEqual(['d', 'e']);
    expect(() => loaded.add({ id: 'a', text: 'dup' })).toThrow(/already in the BM25 index/);
  });

  it('replaces an existing index atomically', async () => {
    const dir = await saved();
    await (await Bm25Index.build([{ id: 'z', text: 'zebra' }])).save(dir);
    expect((await (await Bm25Index.load(dir)).search('zebra')).map((h) => h.id)).toEqual(['z']);
    expect(readdirSync(root).filter((f) => f.includes('.tmp-') || f.includes('.old-'))).toEqual([]);
  });

  it('needs the same custom analyzer back', async () => {
    const words: Analyzer = { name: 'words', analyze: (t) => t.toLowerCase().split(/\W+/).filter(Boolean) };
    const dir = fresh();
    await (await Bm25Index.build(DOCS, { analyzer: words })).save(dir);
    await expect(Bm25Index.load(dir)).rejects.toThrow(/custom analyzer "words"; pass it as Bm25Index.load\(dir, \{ analyzer \}\)/);
    await expect(Bm25Index.load(dir, { analyzer: { name: 'other', analyze: words.analyze } })).rejects.toThrow(/indexed with analyzer "words"/);
    expect((await (await Bm25Index.load(dir, { analyzer: words })).search('the risk')).length).toBe(2);
  });
});

describe('damaged or missing indexes', () => {
  it('raises IndexCorruptError when a file’s bytes change', async () => {
    const dir = await saved();
    const file = join(dir, 'postings-tfs.i32');
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(file, bytes);
    await expect(Bm25Index.load(dir)).rejects.toBeInstanceOf(IndexCorruptError);
    await expect(Bm25Index.load(dir)).rejects.toThrow(/checksum mismatch for postings-tfs\.i32/);
  });

  it('raises IndexCorruptError when files agree with the manifest but not with each other', async () => {
    const cases: [string, Uint8Array | string, RegExp][] = [
      ['postings-docs.i32', new Uint8Array(readFileSync(join(await saved(), 'postings-docs.i32')).length).fill(0xff), /out of order or out of range/],
      ['doc-lengths.i32', new Uint8Array(new Int32Array([1, 2, 3, 4]).buffer), /has length 1 but/],
      ['postings-offsets.i32', new Uint8Array(3), /not a whole number of int32/],
      ['ids.json', '["a","a","b","c"]', /repeats an id/],
      ['terms.json', '{"not":"an array"}', /not an array of strings/],
      ['ids.json', '[oops', /not valid JSON/],
    ];
    for (const [name, bytes, message] of cases) {
      const dir = await saved();
      tamper(dir, name, bytes);
      const error = await Bm25Index.load(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IndexCorruptError);
      expect(String((error as Error).message)).toMatch(message);
    }
  });

  it('raises IndexCorruptError when a file or the manifest is missing', async () => {
    const dir = await saved();
    rmSync(join(dir, 'terms.json'));
    await expect(Bm25Index.load(dir)).rejects.toThrow(/terms\.json listed in the manifest is missing/);
    const dir2 = await saved();
    rmSync(join(dir2, 'manifest.json'));
    await expect(Bm25Index.load(dir2)).rejects.toThrow(/no manifest\.json; is this a saved quarry-bm25 index\?/);
  });

  it('gives a clear error for a folder that does not exist', async () => {
    const missing = join(root, 'does-not-exist');
    const error = await Bm25Index.load(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuarryError);
    expect(error).toMatchObject({ code: 'NOT_FOUND' });
    expect((error as Error).message).toMatch(/does-not-exist: no such folder\. Build an index and save it there first/);
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses another index format', async () => {
    const dir = await saved();
    const manifestFile = join(dir, 'manifest.json');
    writeFileSync(manifestFile, readFileSync(manifestFile, 'utf8').replace('"quarry-bm25"', '"quarry-flat"'));
    await expect(Bm25Index.load(dir)).rejects.toThrow(/holds a "quarry-flat" index, not "quarry-bm25"/);
  });
});
