import { defineConfig, mergeConfig } from 'vitest/config';
import { packageTests } from '../../tools/config/vitest.preset.ts';

// One PGlite server for the whole run (test/support/global-setup.ts); the fault tests start their own.
export default mergeConfig(packageTests, defineConfig({ test: { globalSetup: ['test/support/global-setup.ts'] } }));
