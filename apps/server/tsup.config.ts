import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/config/tsup.preset';

// The library ships as ESM + CJS (import.meta.url finds public/; the preset's shims cover CJS);
// the `quarry-server` binary is ESM only (top-level await).
export default defineConfig([packageBuild(), packageBuild({ entry: ['src/bin.ts'], format: ['esm'], dts: false, clean: false })]);
