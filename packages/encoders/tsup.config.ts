import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/config/tsup.preset';

// The worker thread script of ParallelStaticEncoder is a second entry point (found next to
// the entry that spawns it, through import.meta.url: the preset's shims cover the CJS build).
export default defineConfig(packageBuild({ entry: ['src/index.ts', 'src/encode-worker.ts'] }));
