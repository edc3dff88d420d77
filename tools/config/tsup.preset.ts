import type { Options } from 'tsup';

/**
 * The one build every package shares: ESM + CJS + .d.ts from src/index.ts.
 * `shims` gives the CommonJS build a real `import.meta.url` (without it esbuild compiles
 * `import.meta` to `{}`, and every package that finds its bundled models, weights or worker
 * next to its own file breaks under `require`). It is on for every package so that a new use
 * of import.meta can't reintroduce the bug; `npm run test:packages` requires each packed package.
 */
export function packageBuild(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    shims: true,
    ...overrides,
  };
}
