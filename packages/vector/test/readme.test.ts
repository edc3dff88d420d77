import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { expect, it, vi } from 'vitest';

// The README's example is run as written (with '@quarry/vector' pointed at src/) and
// must print exactly the output the README shows beneath it.
const pkg = resolve(fileURLToPath(import.meta.url), '../..');
const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Example'), readme.indexOf('## API'));
const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
const shown = /```text\n([\s\S]*?)```/.exec(section)?.[1];

it('README example prints what the README says it prints', async () => {
  expect(code).toBeDefined();
  expect(shown).toBeDefined();
  const dir = join(pkg, '.cache');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `readme-example-${process.pid}.ts`);
  writeFileSync(file, code!.replace("from '@quarry/vector'", `from ${JSON.stringify(join(pkg, 'src/index.ts'))}`));
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(format(...args)));
  try {
    await import(file);
  } finally {
    spy.mockRestore();
    rmSync(file, { force: true });
  }
  expect(`${printed.join('\n')}\n`).toBe(shown);
});
