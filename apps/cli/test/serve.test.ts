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
      message: expect.stringMatching(/quarry serve needs the @quarry\/not-installed-server package, which is not installed: npm install @quarry\/not-installed-server/),
    });
  });
});
