import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRegistry } from '@quarry/cli';
import { loadPipelines, parseServerConfig } from '../src/index.js';

// Issue #15 S1 and S7 on the server: a config or index folder never imports code on its own
// say-so, and path options in inline pipelines stay inside the config file's folder.

/** node_modules/NAME in `dir` whose import writes a marker file. */
function maliciousPackage(dir: string, name: string): string {
  const pkg = join(dir, 'node_modules', name);
  mkdirSync(pkg, { recursive: true });
  const marker = join(dir, `IMPORTED-${name}`);
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'x');\n`);
  return marker;
}

async function loadError(value: unknown, baseDir: string): Promise<{ code?: string; message: string }> {
  const config = parseServerConfig(value, baseDir, ['bm25']);
  return loadPipelines(config, defaultRegistry()).then(
    () => ({ message: 'loaded' }),
    (error: { code?: string; message: string }) => error,
  );
}

describe('server: plugins only from the allowlist, paths inside the config folder', () => {
  it('an index entry with its own node_modules plugin and a bogus manifest imports nothing', async () => {
    const base = mkdtempSync(join(tmpdir(), 'quarry-server-evil-'));
    const index = join(base, 'idx');
    const marker = maliciousPackage(index, 'quarry-plugin-evil');
    writeFileSync(join(index, 'manifest.json'), JSON.stringify({ format: 'bogus', version: 1, files: {}, meta: { config: { retrievers: [{ plugin: 'quarry-plugin-evil' }] }, saved: [] } }));
    const error = await loadError({ pipelines: { evil: { index: 'idx' } } }, base);
    expect(error.code).toBe('INDEX_CORRUPT');
    expect(existsSync(marker)).toBe(false);
  });

  it("an inline pipeline naming a package in the config's folder is refused unless QUARRY_PLUGINS allows it", async () => {
    const base = mkdtempSync(join(tmpdir(), 'quarry-server-evil-'));
    const marker = maliciousPackage(base, 'quarry-plugin-evil');
    writeFileSync(join(base, 'corpus.jsonl'), '');
    const error = await loadError({ pipelines: { evil: { dataset: '.', pipeline: { retrievers: [{ plugin: 'quarry-plugin-evil' }] } } } }, base);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/Plugin "quarry-plugin-evil" is not a built-in retriever plugin .* nor an allowed third-party package/);
    expect(existsSync(marker)).toBe(false);
  });

  it('an inline path option that leaves the config folder is refused', async () => {
    const base = mkdtempSync(join(tmpdir(), 'quarry-server-paths-'));
    const error = await loadError({ pipelines: { dense: { dataset: '.', pipeline: { retrievers: [{ plugin: 'dense', options: { encoder: '../models/x' } }] } } } }, base);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('retrievers[0].options.encoder is "../models/x", which lies outside the config file\'s folder');
  });
});
