import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../examples/quickstart.mjs', import.meta.url), 'utf8');

afterEach(() => vi.restoreAllMocks());

describe('README', () => {
  it('has the shared section layout', () => {
    const headings = [...readme.matchAll(/^##? (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(['@quarry/bool-attn', 'When to use it', 'Install', 'Example', 'API', 'How it works', 'Paper', 'The Boolean benchmark (`benchmark/scifact-bool`)', 'Results', 'Licence']);
  });

  it('shows examples/quickstart.mjs and the output it really prints (needs the built package: npx tsup)', async () => {
    expect(readme).toContain(`\`\`\`js\n${example}\`\`\``);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    await import(new URL('../examples/quickstart.mjs', import.meta.url).href);
    expect(lines).toHaveLength(6);
    expect(readme).toContain(`Output:\n\n\`\`\`text\n${lines.join('\n')}\n\`\`\``);
  });
});
