import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureQuickstart, codeBlock, outputBlock, readmeHeadings } from '../../../tools/testing/readme.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');

afterEach(() => vi.restoreAllMocks());

describe('README', () => {
  it('has the shared section layout', () => {
    expect(readmeHeadings(readme)).toEqual(['@quarry/colbert', 'When to use it', 'Install', 'Example', 'API', 'How it works', 'Results', 'Licence']);
  });

  it('shows examples/quickstart.ts and the output it really prints', async () => {
    expect(readme).toContain(codeBlock(example, 'ts'));
    const lines = await captureQuickstart(() => import('../examples/quickstart.js'));
    expect(lines).toHaveLength(3);
    expect(readme).toContain(outputBlock(lines));
  });
});
