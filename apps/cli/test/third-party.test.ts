import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, scifact, useTemporaryCache } from './helpers.js';

const project = join(__dirname, 'fixtures', 'plugin-project');
// Scratch folders inside the project, so packages resolve as they would for a user (.cache is gitignored).
const scratch = () => {
  mkdirSync(join(project, '.cache'), { recursive: true });
  return mkdtempSync(join(project, '.cache', 'run-'));
};

beforeAll(useTemporaryCache);

describe('third-party plugins named by package in a pipeline file', () => {
  it('loads the installed package, validates its options with its own schema, and fuses it', async () => {
    const r = await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', join(project, 'title-hybrid.yaml'), '--json');
    expect(r.err).toBe('');
    const report = JSON.parse(r.out);
    expect(report.pipeline).toBe('bm25-plus-titles');
    expect(report.metrics['ndcg@10']).toBeGreaterThan(0);
    // Fusing in a second (weaker) ranking changes the result: the plugin really ran.
    const bm25 = JSON.parse((await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--json')).out);
    expect(report.metrics['ndcg@10']).not.toBe(bm25.metrics['ndcg@10']);
  });

  it('indexes with the plugin and searches the saved index', async () => {
    const out = join(scratch(), 'idx');
    expect((await cli('index', '--dataset', scifact, '--pipeline', join(project, 'title-hybrid.yaml'), '--out', out)).code).toBe(0);
    const r = await cli('search', '--index', out, '--k', '3', '--json', 'vitamin D deficiency');
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).hits).toHaveLength(3);
  });

  it('reports invalid plugin options and missing packages clearly', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'bad.yaml'), 'retrievers:\n  - plugin: quarry-plugin-title-match\n    options: { minLength: 0 }\n');
    const bad = await cli('eval', '--dataset', scifact, '--pipeline', join(dir, 'bad.yaml'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/quarry-plugin-title-match[\s\S]*minLength/);
    writeFileSync(join(dir, 'missing.yaml'), 'retrievers:\n  - plugin: quarry-plugin-not-installed\n');
    const missing = await cli('eval', '--dataset', scifact, '--pipeline', join(dir, 'missing.yaml'));
    expect(missing.code).toBe(2);
    // The list names every built-in retriever (it grows with each package the CLI bundles).
    expect(missing.err).toMatch(/not a built-in retriever plugin \((bm25, )[^)]*(dense)[^)]*\) nor an installed package; install it/);
  });
});
