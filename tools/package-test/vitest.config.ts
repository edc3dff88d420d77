import { defineConfig } from 'vitest/config';

/**
 * `npm run test:packages`: packs every workspace, installs the tarballs into an empty project and
 * runs each README quickstart as ESM and as CJS. Separate from `npm test` (about 4 minutes on 2 cores,
 * most of it `npm install` building hnswlib-node); `.ci/run` runs both.
 */
export default defineConfig({
  test: {
    root: __dirname,
    include: ['packages.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 900_000,
  },
});
