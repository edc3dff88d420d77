import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, useTemporaryCache } from './helpers.js';

beforeAll(useTemporaryCache);

const CORPUS = '{"_id":"d1","title":"Vitamin D","text":"Vitamin D deficiency and bone health."}\n{"_id":"d2","text":"Multiple sclerosis is an autoimmune disease."}\n';

function folder(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-cli-out-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((n) => [n, readFileSync(join(dir, n), 'utf8')]),
  );
}

describe('quarry index --out never deletes what it did not write', () => {
  it('refuses --out equal to the dataset folder (issue #15 reproduction): thesis.tex survives, exit non-zero', async () => {
    const dir = folder({ 'corpus.jsonl': CORPUS, 'queries.jsonl': '', 'thesis.tex': '\\documentclass{article}\n' });
    const before = snapshot(dir);
    const cwd = process.cwd();
    process.chdir(dir); // literally `quarry index --dataset . --out .`
    let res;
    try {
      res = await cli('index', '--dataset', '.', '--out', '.', '--quiet');
    } finally {
      process.chdir(cwd);
    }
    expect(res.code).not.toBe(0);
    expect(res.err).toMatch(/OUTPUT_DIR_REFUSED/);
    expect(res.err).toContain(dir);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses --out inside the dataset, and a folder of unrelated files even outside it', async () => {
    const data = folder({ 'corpus.jsonl': CORPUS });
    const inside = await cli('index', '--dataset', data, '--out', join(data, 'index'), '--quiet');
    expect(inside.code).toBe(1);
    expect(inside.err).toMatch(/inside it/);
    expect(existsSync(join(data, 'index'))).toBe(false);
    const other = folder({ 'notes.md': 'mine' });
    const res = await cli('index', '--dataset', data, '--out', other, '--quiet');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(new RegExp(`${other}: refusing to write here: .*notes\\.md`));
    expect(snapshot(other)).toEqual({ 'notes.md': 'mine' });
    // --overwrite is the explicit way to replace such a folder.
    expect((await cli('index', '--dataset', data, '--out', other, '--overwrite', '--quiet')).code).toBe(0);
    expect(existsSync(join(other, 'notes.md'))).toBe(false);
  });

  it('replaces its own index and removes the temp folders a killed run left', async () => {
    const data = folder({ 'corpus.jsonl': CORPUS });
    const out = join(mkdtempSync(join(tmpdir(), 'quarry-cli-out-')), 'idx');
    expect((await cli('index', '--dataset', data, '--out', out, '--quiet')).code).toBe(0);
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    mkdirSync(`${out}.tmp-${dead}.0badf00d`);
    writeFileSync(join(`${out}.tmp-${dead}.0badf00d`, 'docs.jsonl.gz'), 'partial');
    const again = await cli('index', '--dataset', data, '--out', out, '--quiet');
    expect(again.code).toBe(0);
    expect(readdirSync(join(out, '..'))).toEqual(['idx']);
  });
});

describe('quarry index reads the corpus strictly', () => {
  it('indexes and searches a folder that has only corpus.jsonl', async () => {
    const data = folder({ 'corpus.jsonl': CORPUS });
    const out = join(mkdtempSync(join(tmpdir(), 'quarry-cli-out-')), 'idx');
    const idx = await cli('index', '--dataset', data, '--out', out, '--quiet');
    expect(idx.err).toBe('');
    expect(idx.out).toMatch(/indexed 2 documents/);
    const res = await cli('search', '--index', out, '--json', 'sclerosis');
    expect(JSON.parse(res.out).hits[0].id).toBe('d2');
  });

  it('fails on an empty corpus with a message and a non-zero exit', async () => {
    const data = folder({ 'corpus.jsonl': '' });
    const res = await cli('index', '--dataset', data, '--out', join(data, '..', `${data.split('/').pop()}-idx`), '--quiet');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/corpus\.jsonl: the corpus holds no documents/);
  });

  it('names the file and both lines of a duplicate _id', async () => {
    const data = folder({ 'corpus.jsonl': `${CORPUS}{"_id":"d1","text":"again"}\n` });
    const res = await cli('index', '--dataset', data, '--out', `${data}-idx`, '--quiet');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/DUPLICATE_ID.*corpus\.jsonl:3: id "d1" was already used on line 1/);
  });

  it('fails on invalid UTF-8 naming file:line; --replace-invalid-utf8 indexes and reports the count', async () => {
    const data = folder({ 'corpus.jsonl': Buffer.concat([Buffer.from(CORPUS), Buffer.from('{"_id":"d3","text":"caf'), Buffer.from([0xe9]), Buffer.from(' au lait"}\n')]) });
    const strict = await cli('index', '--dataset', data, '--out', `${data}-idx`, '--quiet');
    expect(strict.code).toBe(1);
    expect(strict.err).toMatch(/corpus\.jsonl:3: is not valid UTF-8/);
    expect(existsSync(`${data}-idx`)).toBe(false);
    const lenient = await cli('index', '--dataset', data, '--out', `${data}-idx`, '--replace-invalid-utf8', '--quiet');
    expect(lenient.code).toBe(0);
    expect(lenient.out).toMatch(/replaced invalid UTF-8 with U\+FFFD on 1 line\(s\) of .*corpus\.jsonl \(first: line 3\)/);
    expect(lenient.out).toMatch(/indexed 3 documents/);
  });
});

describe('other writers and readers of Quarry folders', () => {
  it('quarry train refuses --out holding other files before training', async () => {
    const dir = folder({ 'thesis.tex': 'x' });
    const data = join(folder({}), 'pairs.jsonl');
    writeFileSync(data, '{"query":"a","positive":"b"}\n{"query":"c","positive":"d"}\n');
    const res = await cli('train', '--data', data, '--out', dir, '--quiet');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/OUTPUT_DIR_REFUSED/);
    expect(snapshot(dir)).toEqual({ 'thesis.tex': 'x' });
  });

  it('quarry search refuses an index holding a file its manifest does not list', async () => {
    const data = folder({ 'corpus.jsonl': CORPUS });
    const out = join(mkdtempSync(join(tmpdir(), 'quarry-cli-out-')), 'idx');
    expect((await cli('index', '--dataset', data, '--out', out, '--quiet')).code).toBe(0);
    writeFileSync(join(out, 'extra.bin'), 'unchecked');
    const res = await cli('search', '--index', out, 'vitamin');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/INDEX_CORRUPT.*extra\.bin/);
  });
});

describe('the pipeline cache is a folder Quarry owns', () => {
  it('rebuilds an entry whose manifest is unreadable or which holds a stray file', async () => {
    const { buildOrLoadPipeline, cacheRoot, defaultRegistry, pipelineCacheKey, resolvePipeline } = await import('../src/index.js');
    const { openBeirDataset } = await import('@quarry/core');
    const registry = defaultRegistry();
    const dataset = openBeirDataset(folder({ 'corpus.jsonl': CORPUS }));
    const config = await resolvePipeline('bm25', registry);
    await buildOrLoadPipeline(dataset, config, registry, { useCache: true });
    const dir = join(cacheRoot(), 'pipelines', await pipelineCacheKey(dataset, config));
    writeFileSync(join(dir, 'manifest.json'), '{ torn');
    expect((await buildOrLoadPipeline(dataset, config, registry, { useCache: true })).cached).toBe(false);
    writeFileSync(join(dir, 'stray.bin'), 'x');
    expect((await buildOrLoadPipeline(dataset, config, registry, { useCache: true })).cached).toBe(false);
    expect((await buildOrLoadPipeline(dataset, config, registry, { useCache: true })).cached).toBe(true);
  });
});
