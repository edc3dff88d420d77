#!/usr/bin/env node
// The `quarry` bin is this committed file, not dist/bin.js: npm links a workspace's bins at
// `npm ci`, before `npm run build` has created dist/, and skips a bin whose file is missing.
// So in a fresh clone `npx quarry` works as soon as the build has run.
import { existsSync } from 'node:fs';

const bin = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(bin)) {
  console.error('quarry: @quarry/cli is not built (dist/bin.js is missing). In the Quarry repository, run `npm run build` first.');
  process.exit(1);
}
await import(bin.href);
