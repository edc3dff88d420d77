import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureQuickstart, codeBlock, outputBlock, readmeHeadings } from '../../../tools/testing/readme.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/quickstart.mjs', import.meta.url), 'utf8');

afterEach(() => vi.restoreAllMocks());

describe('README', () => {
  it('has the shared section layout', () => {
    const headings = readmeHeadings(readme);
    expect(headings).toEqual(['@quarry/bool-attn', 'When to use it', 'Install', 'Example', 'API', 'How it works', 'Paper', 'The Boolean benchmark (`benchmark/scifact-bool`)', 'Results', 'Licence']);
  });

  it('shows examples/quickstart.mjs and the output it really prints (needs the built package: npx tsup)', async () => {
    expect(readme).toContain(codeBlock(example, 'js'));
    const lines = await captureQuickstart(() => import(new URL('../examples/quickstart.mjs', import.meta.url).href));
    expect(lines).toHaveLength(5);
    expect(readme).toContain(outputBlock(lines));
  });
});
