import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/config/tsup.preset';

// The library ships as ESM + CJS (shims give the CJS build import.meta.url, used to find public/);
// the `quarry-server` binary is ESM only (top-level await).
export default defineConfig([
  packageBuild({ shims: true }),
  packageBuild({ entry: ['src/bin.ts'], format: ['esm'], dts: false, clean: false }),
]);
