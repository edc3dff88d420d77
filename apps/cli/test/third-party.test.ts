import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedPlugins, PLUGINS_ENV } from '../src/index.js';
import { cli, scifact, useTemporaryCache } from './helpers.js';

const project = join(__dirname, 'fixtures', 'plugin-project');
const PLUGIN = 'quarry-plugin-title-match';
// Scratch folders inside the project, so packages resolve as they would for a user (.cache is gitignored).
const scratch = () => {
  mkdirSync(join(project, '.cache'), { recursive: true });
  return mkdtempSync(join(project, '.cache', 'run-'));
};

/**
 * Puts a package `name` into `dir/node_modules` whose import writes a marker file (with the
 * LLM API key it can read): the marker existing means untrusted code ran.
 */
function maliciousPackage(dir: string, name: string): string {
  const pkg = join(dir, 'node_modules', name);
  mkdirSync(pkg, { recursive: true });
  const marker = join(dir, `IMPORTED-${name}`);
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, String(process.env.QUARRY_LLM_API_KEY));\n`);
  return marker;
}

const cwd = process.cwd();
beforeAll(() => {
  useTemporaryCache();
  // The user's project: allowed plugins resolve from the working directory (or the CLI's install).
  process.chdir(project);
  process.env['QUARRY_LLM_API_KEY'] = 'secret-key';
});
afterAll(() => {
  process.chdir(cwd);
  delete process.env['QUARRY_LLM_API_KEY'];
});

describe('third-party plugins named by package in a pipeline file', () => {
  it('loads the allowed package (--plugin), validates its options with its own schema, and fuses it', async () => {
    const r = await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', join(project, 'title-hybrid.yaml'), '--plugin', PLUGIN, '--json');
    expect(r.err).toBe('');
    const report = JSON.parse(r.out);
    expect(report.pipeline).toBe('bm25-plus-titles');
    expect(report.metrics['ndcg@10']).toBeGreaterThan(0);
    // Fusing in a second (weaker) ranking changes the result: the plugin really ran.
    const bm25 = JSON.parse((await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--json')).out);
    expect(report.metrics['ndcg@10']).not.toBe(bm25.metrics['ndcg@10']);
  });

  it('indexes with the plugin and searches the saved index (allowed through QUARRY_PLUGINS)', async () => {
    const out = join(scratch(), 'idx');
    expect((await cli('index', '--dataset', scifact, '--pipeline', join(project, 'title-hybrid.yaml'), '--plugin', PLUGIN, '--out', out)).code).toBe(0);
    process.env[PLUGINS_ENV] = PLUGIN;
    try {
      const r = await cli('search', '--index', out, '--k', '3', '--json', 'vitamin D deficiency');
      expect(r.err).toBe('');
      expect(JSON.parse(r.out).hits).toHaveLength(3);
    } finally {
      delete process.env[PLUGINS_ENV];
    }
    // Without the allowlist the same index does not load its plugin.
    const refused = await cli('search', '--index', out, 'vitamin D deficiency');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`error [CONFIG_INVALID]: Plugin "${PLUGIN}" is not a built-in retriever plugin`);
  });

  it('reports invalid plugin options, packages not allowed and missing packages clearly', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'bad.yaml'), `retrievers:\n  - plugin: ${PLUGIN}\n    options: { minLength: 0 }\n`);
    const bad = await cli('eval', '--dataset', scifact, '--pipeline', join(dir, 'bad.yaml'), '--plugin', PLUGIN);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/quarry-plugin-title-match[\s\S]*minLength/);
    const notAllowed = await cli('eval', '--dataset', scifact, '--pipeline', join(project, 'title-hybrid.yaml'));
    expect(notAllowed.code).toBe(2);
    // The list names every built-in retriever (it grows with each package the CLI bundles).
    expect(notAllowed.err).toMatch(/not a built-in retriever plugin \((bm25, )[^)]*(dense)[^)]*\) nor an allowed third-party package[\s\S]*--plugin quarry-plugin-title-match/);
    writeFileSync(join(dir, 'missing.yaml'), 'retrievers:\n  - plugin: quarry-plugin-not-installed\n');
    const missing = await cli('eval', '--dataset', scifact, '--pipeline', join(dir, 'missing.yaml'), '--plugin', 'quarry-plugin-not-installed');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/"quarry-plugin-not-installed" is allowed but not installed/);
  });
});

describe('untrusted files never import code (issue #15 S1)', () => {
  it('an index folder with its own node_modules plugin and a bogus format: manifest refused, nothing imported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-evil-index-'));
    const marker = maliciousPackage(dir, 'quarry-plugin-evil');
    const config = { name: 'evil', retrievers: [{ plugin: 'quarry-plugin-evil', options: {} }], depth: 1000 };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'bogus', version: 1, files: {}, meta: { config, saved: [] } }));
    for (const extra of [[], ['--plugin', 'quarry-plugin-evil']]) {
      const r = await cli('search', '--index', dir, ...extra, 'vitamin D');
      expect(r.code).toBe(1);
      expect(r.err).toContain('error [INDEX_CORRUPT]');
      expect(existsSync(marker)).toBe(false);
    }
  });

  it('a valid index naming a plugin installed beside it: refused unless allowed, and never resolved from where the index lies', async () => {
    // The package sits in node_modules of the index's parent folder, where resolving from the index
    // folder would find it (files inside the index itself are refused: the manifest does not list them).
    const parent = mkdtempSync(join(tmpdir(), 'quarry-evil-index-'));
    const marker = maliciousPackage(parent, 'quarry-plugin-evil');
    const out = join(parent, 'idx');
    expect((await cli('index', '--dataset', scifact, '--out', out)).code).toBe(0);
    // The manifest's checksums cover the index files, not the manifest's config, so this index verifies.
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    manifest.meta.config.retrievers[0].plugin = 'quarry-plugin-evil';
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
    const refused = await cli('search', '--index', out, 'vitamin D');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/error \[CONFIG_INVALID\]: Plugin "quarry-plugin-evil" is not a built-in retriever plugin .* nor an allowed third-party package/);
    const allowed = await cli('search', '--index', out, '--plugin', 'quarry-plugin-evil', 'vitamin D');
    expect(allowed.code).toBe(2);
    expect(allowed.err).toMatch(/"quarry-plugin-evil" is allowed but not installed in the working directory's project nor next to the CLI/);
    expect(existsSync(marker)).toBe(false);
  });

  it("a pipeline file's own folder is not searched for plugins", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-evil-yaml-'));
    const marker = maliciousPackage(dir, 'quarry-plugin-evil');
    writeFileSync(join(dir, 'evil.yaml'), 'retrievers:\n  - plugin: quarry-plugin-evil\n');
    const refused = await cli('eval', '--dataset', scifact, '--pipeline', join(dir, 'evil.yaml'));
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('nor an allowed third-party package');
    const allowed = await cli('index', '--dataset', scifact, '--pipeline', join(dir, 'evil.yaml'), '--plugin', 'quarry-plugin-evil', '--out', join(dir, 'idx'));
    expect(allowed.code).toBe(2);
    expect(allowed.err).toContain('is allowed but not installed');
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, 'idx'))).toBe(false);
  });

  it('a Node built-in name (plugin: os) or a file path imports nothing from the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-evil-cwd-'));
    const marker = join(dir, 'IMPORTED');
    const code = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'x');\n`;
    // What `import(pathToFileURL('os'))` used to load: ./os in the working directory.
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    for (const file of ['os', 'os.js', 'evil.js']) writeFileSync(join(dir, file), code);
    writeFileSync(join(dir, 'os.yaml'), 'retrievers:\n  - plugin: os\n');
    writeFileSync(join(dir, 'path.yaml'), 'retrievers:\n  - plugin: ./evil.js\n');
    process.chdir(dir);
    try {
      const os = await cli('eval', '--dataset', scifact, '--pipeline', 'os.yaml');
      expect(os.code).toBe(2);
      expect(os.err).toContain('error [CONFIG_INVALID]: Plugin "os" (retriever stage) is a Node.js built-in module');
      const path = await cli('eval', '--dataset', scifact, '--pipeline', 'path.yaml');
      expect(path.code).toBe(2);
      expect(path.err).toContain('file paths are not accepted');
      // Allowing a built-in or a path is refused too.
      const allowOs = await cli('eval', '--dataset', scifact, '--pipeline', 'os.yaml', '--plugin', 'os');
      expect(allowOs.code).toBe(2);
      expect(allowOs.err).toContain('is a Node.js built-in module');
    } finally {
      process.chdir(project);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('allowedPlugins reads --plugin and QUARRY_PLUGINS and refuses built-ins and paths', () => {
    expect(allowedPlugins(['a', 'b,@scope/c'], { [PLUGINS_ENV]: ' d , a' })).toEqual(['a', 'b', '@scope/c', 'd']);
    expect(allowedPlugins(undefined, {})).toEqual([]);
    for (const bad of ['os', 'node:fs', 'fs/promises', './x', '/abs/x', '../x']) {
      expect(() => allowedPlugins([bad], {})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});
