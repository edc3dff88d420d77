import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAIServer } from '@quarry/llm';
// esbuild comes with tsup (a root devDependency): it strips the README's TypeScript.
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteServer } from '../../packages/store-pgvector/test/support/pglite.js';

/**
 * What a user gets from npm: every workspace is packed (`npm pack`, so only the `files` the
 * package.json lists), the tarballs are installed into an empty project, and each package's README
 * quickstart runs there twice, as an ES module (.mjs) and as CommonJS (.cjs, `require`), so both
 * builds, the `exports` map, the shipped models and the bins are exercised as published. Outputs are
 * compared with the README's own `Output:` block where it shows one.
 */

const root = join(__dirname, '../..');
const workspaces = ['packages', 'apps'].flatMap((group) => readdirSync(join(root, group)).map((name) => join(group, name))).filter((ws) => existsSync(join(root, ws, 'package.json')));
const QUERY = 'vitamin D deficiency is linked to multiple sclerosis';

let work = '';
let project = '';
let llm: FakeOpenAIServer | undefined;
let pg: PgliteServer | undefined;
const env: Record<string, string> = {};

interface Quickstart {
  /** The README's code, as written (TypeScript or JavaScript). */
  code: string;
  /** The README's `Output:` block for it, when it shows one. */
  output?: string[];
}

/** The first ts/js code block of the README's `## Example` section and the `Output:` block after it. */
function readmeQuickstart(readme: string): Quickstart | undefined {
  const section = /^## Example\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const code = /^```(?:ts|js)\n([\s\S]*?)^```/m.exec(section);
  if (!code) return undefined;
  const output = /^Output:\n\n```text\n([\s\S]*?)\n```/m.exec(section.slice(code.index + code[0].length));
  return { code: code[1]!, ...(output ? { output: output[1]!.split('\n') } : {}) };
}

/** TypeScript or JavaScript with imports and top-level await -> an ES module. */
function toEsm(code: string): string {
  return transformSync(code, { loader: 'ts', format: 'esm', target: 'node20' }).code;
}

/** The same program as CommonJS: each `import` becomes a `require`, the rest runs in an async function. */
function toCjs(code: string): string {
  const requires: string[] = [];
  const body: string[] = [];
  for (const line of toEsm(code).split('\n')) {
    const named = /^import \{(.*)\} from ("[^"]+");$/.exec(line);
    const namespace = /^import \* as (\w+) from ("[^"]+");$/.exec(line);
    if (named) requires.push(`const {${named[1]!.replace(/ as /g, ': ')}} = require(${named[2]});`);
    else if (namespace) requires.push(`const ${namespace[1]} = require(${namespace[2]});`);
    else if (line.startsWith('import ')) throw new Error(`toCjs: unhandled import: ${line}`);
    else body.push(line);
  }
  return `'use strict';\n${requires.join('\n')}\n(async () => {\n${body.join('\n')}\n})().catch((error) => {\n  console.error(error);\n  process.exitCode = 1;\n});\n`;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs node in `cwd`, asynchronously: the stand-in LLM server lives in this process, so a
 * blocking spawnSync would keep it from answering.
 */
function node(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Writes `source` to a fresh folder inside the project (with datasets/ linked in) and runs it with node. */
function runIn(name: string, file: string, source: string): Promise<Run> {
  const dir = join(project, 'runs', name);
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(root, 'datasets'), join(dir, 'datasets'));
  writeFileSync(join(dir, file), source);
  return node([file], dir);
}

function lines(stdout: string): string[] {
  return stdout.replace(/\n$/, '').split('\n');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'quarry-packed-'));
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packed = JSON.parse(execFileSync('npm', ['pack', '--workspaces', '--pack-destination', tarballs, '--json', '--silent'], { cwd: root, encoding: 'utf8' })) as { filename: string }[];
  expect(packed).toHaveLength(workspaces.length);
  project = join(work, 'project');
  mkdirSync(project);
  // The same install-script policy as the repository (hnswlib-node builds; onnxruntime-node's
  // postinstall, which would download CUDA from outside the registry, does not run).
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> };
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'quarry-packed-project', private: true, allowScripts: rootPkg.allowScripts }, null, 2));
  copyFileSync(join(root, '.npmrc'), join(project, '.npmrc'));
  // Dependencies come from the npm cache when it has them (CI just ran npm ci); only the npm registry is needed otherwise.
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', ...packed.map((p) => join(tarballs, p.filename))], {
    cwd: project,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // The bundled SciFact, where the CLI looks for it (next to its install) and the READMEs use it.
  symlinkSync(join(root, 'datasets'), join(project, 'datasets'));
  // Pipelines built by the CLI and server go to a throwaway cache.
  env['QUARRY_CACHE_DIR'] = join(work, 'cache');
  llm = await FakeOpenAIServer.start();
  env['QUARRY_TEST_LLM_URL'] = llm.url;
  pg = await new PgliteServer({ dataDir: mkdtempSync(join(tmpdir(), 'quarry-packed-pg-')) }).start();
  env['DATABASE_URL'] = pg.url;
});

afterAll(async () => {
  await llm?.close();
  await pg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** README snippets that need a stand-in for a service they talk to (the tests provide it through `env`). */
const substitutions: Record<string, [string, string][]> = {
  '@quarry/llm': [["'http://127.0.0.1:8080/v1'", "process.env['QUARRY_TEST_LLM_URL']"]],
};

const libraries = workspaces
  .map((ws) => {
    const name = (JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8')) as { name: string }).name;
    const quickstart = readmeQuickstart(readFileSync(join(root, ws, 'README.md'), 'utf8'));
    return { ws, name, quickstart };
  })
  .filter((p): p is { ws: string; name: string; quickstart: Quickstart } => p.quickstart !== undefined);

describe.each(libraries)("$name's README quickstart, installed from its tarball", ({ name, quickstart }) => {
  let code = quickstart.code;
  for (const [from, to] of substitutions[name] ?? []) {
    expect(code).toContain(from);
    code = code.replace(from, to);
  }
  const slug = name.replace('@quarry/', '');

  it.each([
    ['ESM', 'quickstart.mjs', toEsm],
    ['CJS', 'quickstart.cjs', toCjs],
  ] as const)('runs as %s', async (format, file, convert) => {
    const run = await runIn(`${slug}-${format}`, file, convert(code));
    expect(run.stderr.split('\n').filter((l) => /Error|ERR_/.test(l))).toEqual([]);
    expect(run.status).toBe(0);
    if (quickstart.output) expect(lines(run.stdout)).toEqual(quickstart.output);
    else expect(run.stdout.trim()).not.toBe('');
  });
});

/** The README's `$ quarry ...` lines and the output shown under each (up to a `...`). */
function cliSession(readme: string): { argv: string[]; expected: string[] }[] {
  const block = /^## Example\n[\s\S]*?```sh\n([\s\S]*?)^```/m.exec(readme)![1]!;
  return block
    .split(/^\$ /m)
    .filter(Boolean)
    .map((part) => {
      const [command, ...output] = part.replace(/\n$/, '').split('\n');
      const argv = [...command!.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!).slice(1);
      const cut = output.indexOf('...');
      return { argv, expected: cut < 0 ? output : output.slice(0, cut) };
    });
}

describe('@quarry/cli, installed from its tarball', () => {
  const session = cliSession(readFileSync(join(root, 'apps/cli/README.md'), 'utf8'));

  it('runs the README session through the installed `quarry` bin (ESM) and finds its bundled dataset', async () => {
    expect(session.map((s) => s.argv[0])).toEqual(['eval', 'search']);
    const script = [
      "import { spawnSync } from 'node:child_process';",
      "import { bundledDataset } from '@quarry/cli';",
      `for (const argv of ${JSON.stringify(session.map((s) => s.argv))}) {`,
      `  const run = spawnSync(${JSON.stringify(join(project, 'node_modules/.bin/quarry'))}, argv, { encoding: 'utf8' });`,
      '  process.stdout.write(run.stdout);',
      '  process.stderr.write(run.stderr);',
      '  if (run.status !== 0) process.exitCode = run.status ?? 1;',
      '}',
      // import.meta.url locates the dataset next to the install (here: the project's datasets/).
      "console.log('bundled:', bundledDataset());",
    ].join('\n');
    const run = await runIn('cli-ESM', 'session.mjs', script);
    expect(run.stderr).not.toMatch(/Error|ERR_/); // (progress lines go to stderr)
    expect(run.status).toBe(0);
    for (const { expected } of session) expect(run.stdout).toContain(expected.join('\n'));
    expect(run.stdout).toContain(`bundled: ${join(project, 'datasets', 'scifact')}`);
  });

  it("runs the same search through require('@quarry/cli').main (CJS); its dataset and plugin lookups work", async () => {
    const search = session[1]!;
    const script = [
      "const { main, bundledDataset, defaultRegistry, registerExternalPlugins } = require('@quarry/cli');",
      `main(${JSON.stringify(search.argv)}, { out: (l) => console.log(l), err: (l) => console.error(l) }).then(async (code) => {`,
      '  process.exitCode = code;',
      "  console.log('bundled:', bundledDataset());",
      // The third-party plugin lookup also searches next to the CLI's own file (import.meta.url).
      "  const missing = { retrievers: [{ plugin: 'quarry-plugin-missing' }] };",
      "  await registerExternalPlugins(missing, defaultRegistry(), { allow: ['quarry-plugin-missing'] }).catch((e) => console.log('external:', e.code));",
      '});',
    ].join('\n');
    const run = await runIn('cli-CJS', 'session.cjs', script);
    expect(run.stderr).not.toMatch(/Error|ERR_/);
    expect(run.status).toBe(0);
    expect(lines(run.stdout)).toEqual([...search.expected, `bundled: ${join(project, 'datasets', 'scifact')}`, 'external: CONFIG_INVALID']);
  });
});

describe('@quarry/server, installed from its tarball', () => {
  const config = 'pipelines:\n  bm25: { dataset: scifact, pipeline: bm25 }\n';
  const body = JSON.stringify({ pipeline: 'bm25', query: QUERY, k: 2 });
  const readme = readFileSync(join(root, 'apps/server/README.md'), 'utf8');

  it('`quarry serve --config pipelines.yaml` (the README example; the cli finds the server in the project) answers /search', async () => {
    expect(readme).toContain('$ quarry serve --config pipelines.yaml');
    const dir = join(project, 'runs', 'server-ESM');
    mkdirSync(dir, { recursive: true });
    symlinkSync(join(root, 'datasets', 'scifact'), join(dir, 'scifact'));
    writeFileSync(join(dir, 'pipelines.yaml'), config);
    const child: ChildProcess = spawn(join(project, 'node_modules/.bin/quarry'), ['serve', '--config', 'pipelines.yaml', '--port', '0'], { cwd: dir, env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"event":"listening","url":"([^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`quarry serve exited with ${code}: ${stderr}`)));
      });
      const res = await fetch(`${url}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(200);
      const json = (await res.json()) as { hits: { id: string }[] };
      expect(json.hits.map((h) => h.id)).toEqual(['22843838', '21553394']);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    expect(stderr).not.toMatch(/Error|ERR_/);
  });

  it("require('@quarry/server').startServer (CJS, the README's programmatic use) serves /search and the playground page", async () => {
    const script = [
      "const { startServer } = require('@quarry/server');",
      '(async () => {',
      "  const server = await startServer({ configFile: 'pipelines.yaml', port: 0, log: false });",
      '  try {',
      `    const res = await fetch(server.url + '/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(body)} });`,
      "    console.log((await res.json()).hits.map((h) => h.id).join(' '));",
      // public/ is found through import.meta.url, which the CJS build must provide.
      "    const page = await fetch(server.url + '/');",
      "    console.log(page.status, (await page.text()).includes('<html'));",
      '  } finally {',
      '    await server.close();',
      '  }',
      '})().catch((error) => { console.error(error); process.exitCode = 1; });',
    ].join('\n');
    const dir = join(project, 'runs', 'server-CJS');
    mkdirSync(dir, { recursive: true });
    symlinkSync(join(root, 'datasets', 'scifact'), join(dir, 'scifact'));
    writeFileSync(join(dir, 'pipelines.yaml'), config);
    writeFileSync(join(dir, 'start.cjs'), script);
    const run = await node(['start.cjs'], dir);
    expect(run.stderr).not.toMatch(/Error|ERR_/);
    expect(run.status).toBe(0);
    expect(lines(run.stdout)).toEqual(['22843838 21553394', '200 true']);
  });
});
