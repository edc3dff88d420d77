import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../../..');
const workspaces = ['packages', 'apps'].flatMap((group) => readdirSync(join(root, group)).map((name) => join(group, name)));

describe('the quarry command in this repository', () => {
  it('every workspace bin is a committed, executable file outside dist/ (npm links bins at npm ci, before the build)', () => {
    const tracked = new Set(execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n'));
    const bins: string[] = [];
    for (const ws of workspaces) {
      const pkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
      for (const file of Object.values(pkg.bin ?? {})) {
        const path = join(ws, file);
        bins.push(path);
        expect(path).not.toMatch(/\/dist\//);
        expect(tracked.has(path), `${path} is not committed`).toBe(true);
        accessSync(join(root, path), constants.X_OK);
        expect(readFileSync(join(root, path), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
      }
    }
    expect(bins).toEqual(expect.arrayContaining(['apps/cli/bin/quarry.js', 'apps/server/bin/quarry-server.js']));
  });

  it('runs through the linked bin (npx quarry) and the root script (npm run quarry --)', () => {
    const linked = spawnSync(join(root, 'node_modules/.bin/quarry'), ['--help'], { cwd: root, encoding: 'utf8' });
    expect(linked.status).toBe(0);
    expect(linked.stdout).toMatch(/^Usage: quarry <command>/);
    const script = spawnSync('npm', ['run', '--silent', 'quarry', '--', 'pipelines'], { cwd: root, encoding: 'utf8' });
    expect(script.status).toBe(0);
    expect(script.stdout).toMatch(/^Built-in pipelines/);
  });
});
