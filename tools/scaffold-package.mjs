#!/usr/bin/env node
// Creates packages/<name> (or apps/<name> with --app) with the shared layout:
// package.json, tsconfig, tsup and vitest configs, src/index.ts, test/, README stub.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [name, ...rest] = process.argv.slice(2);
if (!name) {
  console.error('usage: node tools/scaffold-package.mjs <name> [--app] [--description "..."]');
  process.exit(2);
}
const isApp = rest.includes('--app');
const description = rest[rest.indexOf('--description') + 1] ?? '';
const dir = join(isApp ? 'apps' : 'packages', name);
if (existsSync(dir)) {
  console.error(`${dir} exists`);
  process.exit(1);
}
mkdirSync(join(dir, 'src'), { recursive: true });
mkdirSync(join(dir, 'test'), { recursive: true });
const pkg = {
  name: `@quarry/${name}`,
  version: '0.1.0',
  description,
  license: 'Apache-2.0',
  type: 'module',
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.ts',
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  },
  files: ['dist', 'README.md'],
  scripts: { build: 'tsup', test: 'vitest run', lint: 'tsc --noEmit -p tsconfig.json' },
  dependencies: { '@quarry/core': '^0.1.0' },
};
writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(join(dir, 'tsconfig.json'), `{ "extends": "../../tsconfig.base.json", "include": ["src", "test", "bench"] }\n`);
writeFileSync(join(dir, 'tsup.config.ts'), `import { defineConfig } from 'tsup';\nimport { packageBuild } from '../../tools/config/tsup.preset';\n\nexport default defineConfig(packageBuild());\n`);
writeFileSync(join(dir, 'vitest.config.ts'), `import { packageTests } from '../../tools/config/vitest.preset.ts';\n\nexport default packageTests;\n`);
writeFileSync(join(dir, 'src', 'index.ts'), 'export {};\n');
console.log(`created ${dir}`);
