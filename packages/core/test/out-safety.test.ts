import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexCorruptError, OutputDirError, assertWritableIndexDir, openIndexDir, saveIndexDir } from '../src/index.js';

const root = () => mkdtempSync(join(tmpdir(), 'quarry-out-'));
const writeA = (content: string) => async (tmp: string) => writeFileSync(join(tmp, 'a.bin'), content);

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('saveIndexDir only replaces what Quarry wrote', () => {
  it('refuses a folder holding other files, names it, and touches nothing', async () => {
    const dir = root();
    writeFileSync(join(dir, 'corpus.jsonl'), '{"_id":"1","text":"x"}\n');
    writeFileSync(join(dir, 'thesis.tex'), '\\documentclass{article}');
    const err = await saveIndexDir(dir, { format: 'demo', version: 1 }, writeA('v1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputDirError);
    expect(err).toMatchObject({ code: 'OUTPUT_DIR_REFUSED', dir });
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toMatch(/corpus\.jsonl, thesis\.tex/);
    expect(readdirSync(dir).sort()).toEqual(['corpus.jsonl', 'thesis.tex']);
    expect(readdirSync(join(dir, '..')).filter((n) => n.startsWith(`${basename(dir)}.tmp-`))).toEqual([]);
  });

  it('refuses a file, a foreign manifest.json, an index holding an unlisted file, and a symlink', async () => {
    const base = root();
    const file = join(base, 'notes.txt');
    writeFileSync(file, 'keep me');
    await expect(saveIndexDir(file, { format: 'demo', version: 1 }, writeA('v1'))).rejects.toThrow(/is a file, not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');

    const foreign = join(base, 'web');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'manifest.json'), '{"name":"my web app manifest"}');
    await expect(assertWritableIndexDir(foreign)).rejects.toThrow(/not a Quarry index manifest/);

    const idx = join(base, 'idx');
    await saveIndexDir(idx, { format: 'demo', version: 1 }, writeA('v1'));
    writeFileSync(join(idx, 'README.md'), 'my notes');
    await expect(saveIndexDir(idx, { format: 'demo', version: 1 }, writeA('v2'))).rejects.toThrow(/does not list: README\.md/);
    expect(readFileSync(join(idx, 'README.md'), 'utf8')).toBe('my notes');

    const link = join(base, 'link');
    symlinkSync(foreign, link);
    await expect(assertWritableIndexDir(link)).rejects.toThrow(OutputDirError);
  });

  it('replaces a missing path, an empty folder and an existing index; overwrite replaces anything', async () => {
    const base = root();
    await saveIndexDir(join(base, 'new', 'deep'), { format: 'demo', version: 1 }, writeA('v1'));
    mkdirSync(join(base, 'empty'));
    await saveIndexDir(join(base, 'empty'), { format: 'demo', version: 1 }, writeA('v1'));
    await saveIndexDir(join(base, 'empty'), { format: 'demo', version: 1 }, writeA('v2'));
    expect(readFileSync(join(base, 'empty', 'a.bin'), 'utf8')).toBe('v2');
    writeFileSync(join(base, 'empty', 'stray.txt'), 'x');
    await saveIndexDir(join(base, 'empty'), { format: 'demo', version: 1 }, writeA('v3'), { overwrite: true });
    expect(readdirSync(join(base, 'empty')).sort()).toEqual(['a.bin', 'manifest.json']);
  });
});

describe('stale temp folders of a killed save', () => {
  it('are removed by the next save when their process is gone, and nothing else is', async () => {
    const base = root();
    const dir = join(base, 'idx');
    await saveIndexDir(dir, { format: 'demo', version: 1 }, writeA('v1'));
    const dead = deadPid();
    const stale = [`idx.tmp-${dead}.0123abcd`, `idx.old-${dead}.89abcdef`];
    const kept = [`idx.tmp-${process.pid}.0123abcd`, 'idx.tmp-notapid.0123abcd', 'idx.backup', `other.tmp-${dead}.0123abcd`];
    for (const name of [...stale, ...kept]) {
      mkdirSync(join(base, name));
      writeFileSync(join(base, name, 'x.bin'), 'partial');
    }
    await saveIndexDir(dir, { format: 'demo', version: 1 }, writeA('v2'));
    expect(readdirSync(base).sort()).toEqual(['idx', ...kept].sort());
    expect(readFileSync(join(dir, 'a.bin'), 'utf8')).toBe('v2');
  });
});

describe('openIndexDir reads only what the manifest covers', () => {
  it('refuses a file on disk that the manifest does not list', async () => {
    const dir = join(root(), 'idx');
    await saveIndexDir(dir, { format: 'demo', version: 1 }, writeA('v1'));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    delete manifest.files['a.bin']; // dropped from the manifest: would be read unchecked
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const err = await openIndexDir(dir, 'demo', [1]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexCorruptError);
    expect((err as Error).message).toMatch(/does not list \(a\.bin\)/);
  });

  it('requires every file the loader reads to be listed', async () => {
    const dir = join(root(), 'idx');
    await saveIndexDir(dir, { format: 'demo', version: 1 }, writeA('v1'));
    await openIndexDir(dir, 'demo', [1], { required: ['a.bin'] });
    await expect(openIndexDir(dir, 'demo', [1], { required: ['a.bin', 'b.bin'] })).rejects.toMatchObject({ code: 'INDEX_CORRUPT', message: expect.stringMatching(/required file\(s\) b\.bin/) });
  });

  it('refuses symbolic links inside the folder', async () => {
    const base = root();
    const dir = join(base, 'idx');
    writeFileSync(join(base, 'secret.txt'), 'v1');
    await saveIndexDir(dir, { format: 'demo', version: 1 }, async (tmp) => {
      mkdirSync(join(tmp, 'sub'));
      writeFileSync(join(tmp, 'sub', 'a.bin'), 'v1');
    });
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'sub', 'a.bin'));
    symlinkSync(join(base, 'secret.txt'), join(dir, 'sub', 'a.bin')); // same bytes, so checksums alone would pass
    await expect(openIndexDir(dir, 'demo', [1])).rejects.toThrow(/symbolic links \(sub\/a\.bin\)/);
    expect(existsSync(join(base, 'secret.txt'))).toBe(true);
  });
});
