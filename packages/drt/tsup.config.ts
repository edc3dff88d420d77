import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/config/tsup.preset';

// `shims` gives the CommonJS build an import.meta.url, so the bundled weights are found there too.
export default defineConfig(packageBuild({ shims: true }));
