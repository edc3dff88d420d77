import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/config/tsup.preset';

// The library entry ships as ESM + CJS; the `quarry` binary is ESM only (top-level await).
export default defineConfig([packageBuild(), packageBuild({ entry: ['src/bin.ts'], format: ['esm'], dts: false, clean: false })]);
