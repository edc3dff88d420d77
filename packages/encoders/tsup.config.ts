import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/config/tsup.preset';

// `shims` gives the CommonJS build an import.meta.url, so the bundled models and tokenizer
// (and the encode worker) are found relative to the package there too. The worker thread
// script of ParallelStaticEncoder is a second entry point.
export default defineConfig(packageBuild({ entry: ['src/index.ts', 'src/encode-worker.ts'], shims: true }));
