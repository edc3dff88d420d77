import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');

afterEach(() => vi.restoreAllMocks());

describe('README', () => {
  it('has the shared section layout', () => {
    const headings = [...readme.matchAll(/^##? (.+)$/gm)].map((m) => m[1]);
    expect(headings.slice(0, 5)).toEqual(['@quarry/store-pgvector', 'When to use it', 'Install', 'Example', 'API']);
    expect(headings).toContain('Results');
    expect(headings.at(-1)).toBe('Licence');
  });

  it('shows examples/quickstart.ts and the output it really prints (against the test server)', async () => {
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
    process.env['DATABASE_URL'] = inject('pgUrl');
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    await import('../examples/quickstart.js');
    expect(lines).toHaveLength(4);
    expect(readme).toContain(`Output:\n\n\`\`\`text\n${lines.join('\n')}\n\`\`\``);
  });
});
