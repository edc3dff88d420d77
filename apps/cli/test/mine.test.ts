import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, scifact, useTemporaryCache } from './helpers.js';

beforeAll(() => useTemporaryCache());

const mine = (...argv: string[]) => cli('mine', '--dataset', scifact, '--teacher', 'bm25', '--depth', '30', '--quiet', ...argv);

describe('quarry mine', () => {
  it('refuses to overwrite --out or --stats unless --overwrite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-mine-cli-'));
    const out = join(dir, 'neg.jsonl');
    writeFileSync(out, 'keep me\n');
    const refused = await mine('--method', 'naive', '--out', out);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/neg\.jsonl already exists; pass --overwrite to replace it/);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
    const stats = join(dir, 'stats.json');
    writeFileSync(stats, '{}');
    expect((await mine('--method', 'naive', '--out', join(dir, 'other.jsonl'), '--stats', stats)).err).toMatch(/stats\.json already exists/);
    const ok = await mine('--method', 'naive', '--out', out, '--stats', stats, '--overwrite');
    expect(ok.code).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n')).toHaveLength(919 + 1);
  });

  it('refuses abs on raw BM25 scores with the reason, mines with --normalize minmax-per-query and names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-mine-cli-'));
    const raw = await mine('--method', 'abs', '--out', join(dir, 'abs.jsonl'));
    expect(raw.code).toBe(2);
    expect(raw.err).toMatch(/Method abs compares raw teacher scores with a fixed absThreshold 0\.7.*teacher "bm25": its scores are unbounded.*--normalize minmax-per-query/);
    const normalised = await mine('--method', 'abs', '--normalize', 'minmax-per-query', '--out', join(dir, 'abs.jsonl'), '--stats', join(dir, 'abs-stats.json'));
    expect(normalised.code).toBe(0);
    expect(normalised.out).toMatch(/method abs compared minmax-per-query normalised teacher scores/);
    expect(JSON.parse(readFileSync(join(dir, 'abs-stats.json'), 'utf8'))).toMatchObject({ normalize: 'minmax-per-query' });
  });

  it('n-tuple output drops queries short of negatives (or pads them with --pad) and says how many', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-mine-cli-'));
    const dropped = await mine('--method', 'perc-pos', '--out', join(dir, 'drop.jsonl'), '--json');
    const report = JSON.parse(dropped.out) as { shortQueries: number; tuples: Record<string, number> };
    expect(report.shortQueries).toBe(135);
    expect(report.tuples).toMatchObject({ droppedQueries: 135, paddedQueries: 0 });
    const rows = readFileSync(join(dir, 'drop.jsonl'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(919 - report.tuples['droppedRows']!);
    for (const row of rows) expect(JSON.parse(row).negative_ids).toHaveLength(4);
    const padded = await mine('--method', 'perc-pos', '--out', join(dir, 'pad.jsonl'), '--pad');
    expect(padded.out).toMatch(/n-tuples: dropped \d+ queries \(\d+ rows\) short of negatives, padded \d+ \(\d+ rows\)/);
    expect(dropped.err).toBe('');
  });
});
