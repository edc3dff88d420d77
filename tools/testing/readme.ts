import { vi } from 'vitest';

/**
 * Shared checks for package READMEs (one layout for every package, and a quickstart whose
 * printed output the README shows verbatim).
 */

/** The README's `#` and `##` headings, in order. */
export function readmeHeadings(readme: string): string[] {
  return [...readme.matchAll(/^##? (.+)$/gm)].map((m) => m[1]!);
}

/** Runs a quickstart (`load` imports it) and returns what it printed with console.log, line by line. */
export async function captureQuickstart(load: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  try {
    await load();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

/** The block a README uses to show a quickstart's output. */
export function outputBlock(lines: readonly string[]): string {
  return `Output:\n\n\`\`\`text\n${lines.join('\n')}\n\`\`\``;
}

/** The block a README uses to show a source file. */
export function codeBlock(source: string, lang = 'ts'): string {
  return `\`\`\`${lang}\n${source}\`\`\``;
}
