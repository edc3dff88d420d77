import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { captureQuickstart, codeBlock, outputBlock, readmeHeadings } from '../../../tools/testing/readme.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');

afterEach(() => vi.restoreAllMocks());

describe('README', () => {
  it('has the shared section layout', () => {
    const headings = readmeHeadings(readme);
    expect(headings.slice(0, 5)).toEqual(['@quarry/store-pgvector', 'When to use it', 'Install', 'Example', 'API']);
    expect(headings).toContain('Results');
    expect(headings.at(-1)).toBe('Licence');
  });

  it('shows examples/quickstart.ts and the output it really prints (against the test server)', async () => {
    expect(readme).toContain(codeBlock(example, 'ts'));
    process.env['DATABASE_URL'] = inject('pgUrl');
    const lines = await captureQuickstart(() => import('../examples/quickstart.js'));
    expect(lines).toHaveLength(4);
    expect(readme).toContain(outputBlock(lines));
  });
});
