import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexCorruptError, QuarryError, openIndexDir, safeJoin, saveIndexDir } from '../src/index.js';

describe('atomic, checksummed index folders', () => {
  it('writes files + manifest and verifies them on open', async () => {
    const root = mkdtempSync(join(tmpdir(), 'quarry-persist-'));
    const dir = join(root, 'idx');
    await saveIndexDir(dir, { format: 'demo', version: 1, meta: { n: 3 } }, async (tmp) => writeFileSync(join(tmp, 'a.bin'), Buffer.from([1, 2, 3])));
    const manifest = await openIndexDir(dir, 'demo', [1]);
    expect(manifest.meta).toEqual({ n: 3 });
    expect(manifest.files['a.bin']!.bytes).toBe(3);
    expect(readdirSync(root)).toEqual(['idx']); // no temp folders left behind
  });

  it('detects corruption, wrong format and unsupported versions', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-persist-')), 'idx');
    await saveIndexDir(dir, { format: 'demo', version: 2 }, async (tmp) => writeFileSync(join(tmp, 'a.bin'), 'hello'));
    await expect(openIndexDir(dir, 'other', [2])).rejects.toThrow(/holds a "demo" index/);
    await expect(openIndexDir(dir, 'demo', [1])).rejects.toMatchObject({ code: 'INDEX_VERSION' });
    writeFileSync(join(dir, 'a.bin'), 'hellO');
    await expect(openIndexDir(dir, 'demo', [2])).rejects.toThrow(IndexCorruptError);
    await expect(openIndexDir(join(dir, 'missing'), 'demo', [2])).rejects.toThrow(/no such folder/);
  });

  it('keeps the previous index intact when a save fails midway', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-persist-')), 'idx');
    await saveIndexDir(dir, { format: 'demo', version: 1 }, async (tmp) => writeFileSync(join(tmp, 'a.bin'), 'v1'));
    await expect(
      saveIndexDir(dir, { format: 'demo', version: 1 }, async (tmp) => {
        writeFileSync(join(tmp, 'a.bin'), 'v2-partial');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    await openIndexDir(dir, 'demo', [1]);
    expect(readFileSync(join(dir, 'a.bin'), 'utf8')).toBe('v1');
    expect(readdirSync(join(dir, '..'))).toEqual(['idx']);
  });

  it('safeJoin refuses paths that escape their folder', () => {
    expect(safeJoin('/data/idx', 'sub/a.bin')).toBe('/data/idx/sub/a.bin');
    expect(() => safeJoin('/data/idx', '../etc/passwd')).toThrow(QuarryError);
    expect(() => safeJoin('/data/idx', '/etc/passwd')).toThrow(/escapes/);
    expect(existsSync('/data/idx')).toBe(false);
  });
});

describe('crash recovery', () => {
  it('restores the old index when a save died between its two renames', async () => {
    const { renameSync } = await import('node:fs');
    const root = mkdtempSync(join(tmpdir(), 'quarry-persist-'));
    const dir = join(root, 'idx');
    await saveIndexDir(dir, { format: 'demo', version: 1 }, async (tmp) => writeFileSync(join(tmp, 'a.bin'), 'v1'));
    renameSync(dir, `${dir}.old-1234.abcd`); // the state a crash after the first rename leaves
    await openIndexDir(dir, 'demo', [1]);
    expect(readFileSync(join(dir, 'a.bin'), 'utf8')).toBe('v1');
    expect(readdirSync(root)).toEqual(['idx']);
  });

  it('says "not found" for a missing folder', async () => {
    await expect(openIndexDir(join(tmpdir(), 'quarry-no-such-index'), 'demo', [1])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
