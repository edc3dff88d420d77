import { fileURLToPath } from 'node:url';
import { mergeConfig } from 'vitest/config';
import { packageTests } from '../../tools/config/vitest.preset';

// The README example imports '@quarry/drt' by name: resolve it to the sources, not dist.
export default mergeConfig(packageTests, {
  resolve: { alias: { '@quarry/drt': fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
});
