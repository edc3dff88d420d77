import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, scifact, useTemporaryCache } from './helpers.js';

beforeAll(useTemporaryCache);

describe('quarry CLI', () => {
  it('prints usage and per-command help that includes plugin flags', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/Commands:[\s\S]*eval/);
    const help = await cli('eval', '--help');
    expect(help.out).toMatch(/--dataset DIR/);
    expect(help.out).toMatch(/--k1 NUMBER/);
  });

  it('fails clearly on unknown commands, flags, pipelines and paths', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    const flag = await cli('eval', '--dataset', scifact, '--bogus');
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/Unknown option '--bogus'/);
    const pipe = await cli('eval', '--dataset', scifact, '--pipeline', 'nope');
    expect(pipe.err).toMatch(/Unknown pipeline "nope"\. Use one of: bm25/);
    const path = await cli('eval', '--dataset', '/no/such/dir');
    expect(path.code).toBe(1);
    expect(path.err).toMatch(/DATASET_NOT_FOUND.*\/no\/such\/dir/);
    const k1 = await cli('eval', '--dataset', scifact, '--k1', '-3');
    expect(k1.code).toBe(2);
    expect(k1.err).toMatch(/k1/);
  });

  it('evaluates bm25 on SciFact test with --json, writing a TREC run, and caches the index', async () => {
    const runFile = join(mkdtempSync(join(tmpdir(), 'quarry-run-')), 'bm25.trec');
    const first = await cli('eval', '--dataset', scifact, '--split', 'test', '--pipeline', 'bm25', '--json', '--run', runFile);
    expect(first.code).toBe(0);
    const report = JSON.parse(first.out);
    expect(report).toMatchObject({ pipeline: 'bm25', split: 'test', queries: 300, cached: false });
    expect(Object.keys(report.metrics)).toEqual(expect.arrayContaining(['ndcg@10', 'recall@100', 'mrr@10', 'map']));
    expect(report.metrics['ndcg@10']).toBeGreaterThanOrEqual(0.675);
    expect(report.qps).toBeGreaterThan(0);
    expect(readFileSync(runFile, 'utf8').split('\n')[0]).toMatch(/^\d+ Q0 \S+ 1 [\d.]+ bm25$/);
    const second = JSON.parse((await cli('eval', '--dataset', scifact, '--split', 'test', '--json')).out);
    expect(second.cached).toBe(true);
    expect(second.metrics).toEqual(report.metrics);
  });

  it('accepts a YAML pipeline file with plugin options, and --k1 overrides it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'quarry-pipe-')), 'p.yaml');
    writeFileSync(file, 'name: bm25-k1\nretrievers:\n  - plugin: bm25\n    options:\n      k1: 1.2\n      b: 0.75\n');
    const a = JSON.parse((await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', file, '--json')).out);
    const b = JSON.parse((await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', file, '--k1', '0.9', '--b', '0.4', '--json')).out);
    const c = JSON.parse((await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', 'bm25', '--json')).out);
    expect(a.pipeline).toBe('bm25-k1');
    expect(a.metrics['ndcg@10']).not.toBe(c.metrics['ndcg@10']);
    expect(b.metrics).toEqual(c.metrics);
    writeFileSync(file, 'retrievers:\n  - plugin: bm25\n    options: { k1: "high" }\n');
    const bad = await cli('eval', '--dataset', scifact, '--pipeline', file);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/options for retriever plugin "bm25"[\s\S]*k1/);
  });

  it('indexes to a folder and searches it, with titles in --json output', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-index-')), 'scifact-bm25');
    const idx = await cli('index', '--dataset', scifact, '--pipeline', 'bm25', '--out', dir);
    expect(idx.code).toBe(0);
    expect(idx.out).toMatch(/indexed 5183 documents/);
    const res = await cli('search', '--index', dir, '--k', '3', '--json', 'Vitamin D deficiency and multiple sclerosis');
    expect(res.code).toBe(0);
    const parsed = JSON.parse(res.out);
    expect(parsed.hits).toHaveLength(3);
    expect(parsed.hits[0]).toEqual({ id: expect.any(String), score: expect.any(Number), title: expect.any(String) });
    expect(parsed.hits[0].score).toBeGreaterThanOrEqual(parsed.hits[1].score);
    const none = await cli('search', '--index', dir);
    expect(none.code).toBe(2);
  });
});
