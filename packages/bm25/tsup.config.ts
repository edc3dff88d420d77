import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/config/tsup.preset';

// `stemmer` ships ESM only: bundle it so the CommonJS build can load without require(esm).
export default defineConfig(packageBuild({ noExternal: ['stemmer'] }));
