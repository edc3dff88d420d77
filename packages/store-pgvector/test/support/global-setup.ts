import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { PgliteServer } from './pglite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the PGlite server shared by the test files (each uses its own tables). */
    pgUrl: string;
    /** A freshly initialised data folder to copy, so a test's own server skips initdb. */
    pgTemplate: string;
  }
}

let shared: PgliteServer | undefined;
let template: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // initdb once: a server started on a copy of this folder is up in well under a second.
  template = mkdtempSync(join(tmpdir(), 'quarry-pglite-template-'));
  const init = new PgliteServer({ dataDir: template });
  await init.start();
  await init.kill('SIGTERM');
  const dataDir = mkdtempSync(join(tmpdir(), 'quarry-pglite-shared-'));
  cpSync(template, dataDir, { recursive: true });
  shared = await new PgliteServer({ dataDir }).start();
  project.provide('pgUrl', shared.url);
  project.provide('pgTemplate', template);
}

export async function teardown(): Promise<void> {
  await shared?.stop();
  if (template) rmSync(template, { recursive: true, force: true });
}
