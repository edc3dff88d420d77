import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServerModule } from '../src/commands/serve.js';
import { cli } from './helpers.js';

// The server itself is tested in apps/server (which depends on this package); here only
// what `quarry serve` does before handing over to it.
describe('quarry serve', () => {
  it('documents its options', async () => {
    const help = await cli('serve', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: quarry serve --config pipelines\.yaml/);
    expect(help.out).toMatch(/--config FILE[\s\S]*--port N[\s\S]*--host HOST[\s\S]*--log-level LEVEL/);
    expect((await cli('--help')).out).toMatch(/serve +Serve pipelines over HTTP/);
  });

  it('is a usage error without --config or with unknown flags', async () => {
    const none = await cli('serve');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/quarry serve needs --config FILE/);
    const bad = await cli('serve', '--config', 'x.yaml', '--prot', '80');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Unknown option '--prot'/);
  });

  it('says how to install the server package when it is missing', async () => {
    await expect(loadServerModule('@quarry/not-installed-server')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/quarry serve needs the @quarry\/not-installed-server package, which is a separate install: npm install @quarry\/not-installed-server/),
    });
    // A user project without the server (searched alone, so this repo's own copy is not found).
    const empty = mkdtempSync(join(tmpdir(), 'quarry-no-server-'));
    await expect(loadServerModule('@quarry/server', [empty])).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(': npm install @quarry/server (') });
  });

  it("loads @quarry/server from the user's project, through its ESM entry", async () => {
    // A stand-in package installed in a project folder; its CJS entry would throw if it were picked.
    const project = mkdtempSync(join(tmpdir(), 'quarry-server-project-'));
    const pkg = join(project, 'node_modules/@quarry/server');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    const exports = { '.': { import: { default: './dist/index.js' }, require: { default: './dist/index.cjs' } }, './package.json': './package.json' };
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@quarry/server', type: 'module', main: './dist/index.cjs', exports }));
    writeFileSync(join(pkg, 'dist/index.js'), "export const from = 'project esm';\nexport const serveOptions = (v) => v;\nexport async function serve() {}\n");
    writeFileSync(join(pkg, 'dist/index.cjs'), "throw new Error('the CJS entry was loaded');\n");
    const server = (await loadServerModule('@quarry/server', [project])) as unknown as { from: string };
    expect(server.from).toBe('project esm');
  });
});
