import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');

afterEach(() => vi.restoreAllMocks());

describe('README', () => {
  it('has the shared section layout', () => {
    const headings = [...readme.matchAll(/^##? (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(['@quarry/drt', 'When to use it', 'Install', 'Example', 'API', 'How it works', 'Results', 'Licence']);
  });

  it('shows examples/quickstart.ts and the output it really prints', async () => {
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    await import('../examples/quickstart.js');
    expect(lines).toHaveLength(7);
    expect(readme).toContain(`Output:\n\n\`\`\`text\n${lines.join('\n')}\n\`\`\``);
  }, 600_000);
});
