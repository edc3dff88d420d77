import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, QuarryError, type PluginRegistry } from '@quarry/core';
import { parseCommandArgs, type OptionSpecs } from '../args.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  config: { type: 'string', description: 'YAML/JSON: pipelines: {NAME: {dataset: DIR, pipeline: NAME|FILE} | {index: DIR}}; paths relative to it', valueName: 'FILE' },
  port: { type: 'string', description: "port (default: the config's server.port, else 8080; 0 = any free port)", valueName: 'N' },
  host: { type: 'string', description: "address to bind (default: the config's server.host, else 127.0.0.1, loopback only)", valueName: 'HOST' },
  'log-level': { type: 'string', description: 'fatal, error, warn, info (default), debug or silent; JSON lines on stdout', valueName: 'LEVEL' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** What this command uses from @quarry/server (typed here: the CLI cannot depend on the server package, which depends on it). */
interface ServerModule {
  serveOptions(values: Record<string, unknown>): Record<string, unknown>;
  serve(options: Record<string, unknown> & { signal: AbortSignal; registry: PluginRegistry }): Promise<void>;
}

/**
 * Loads @quarry/server at run time; the other commands work without it installed.
 *
 * `serve` is a separate install (`npm install @quarry/server`), not a dependency of the CLI:
 * the server depends on the CLI (its registry, pipelines and config reader), so the reverse
 * dependency would be a cycle, and most CLI users (eval, index, mine) never need Fastify.
 * The package is resolved from the user's project (the working directory) first, then next to
 * the CLI's own install (a global `npm install -g @quarry/cli @quarry/server`), and its ESM entry
 * is imported, so the server and this CLI share one module graph.
 */
export async function loadServerModule(specifier = '@quarry/server', searchFrom: readonly string[] = [process.cwd(), dirname(fileURLToPath(import.meta.url))]): Promise<ServerModule> {
  const entry = resolveEsmEntry(specifier, searchFrom);
  if (!entry) {
    throw new QuarryError(
      'NOT_FOUND',
      `quarry serve needs the ${specifier} package, which is a separate install: npm install ${specifier} (in your project, or npm install -g ${specifier} next to a global @quarry/cli).`,
    );
  }
  return (await import(pathToFileURL(entry).href)) as ServerModule;
}

/** The file `import(name)` would load for a package installed under one of `dirs` (its `exports` import entry). */
function resolveEsmEntry(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    let manifest: string;
    try {
      manifest = createRequire(join(dir, 'noop.js')).resolve(`${name}/package.json`);
    } catch {
      continue; // not installed there; try the next folder
    }
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: { '.'?: { import?: { default?: string } } }; module?: string; main?: string };
    const file = pkg.exports?.['.']?.import?.default ?? pkg.module ?? pkg.main ?? 'index.js';
    return join(dirname(manifest), file);
  }
  return undefined;
}

export const serveCommand: Command = {
  name: 'serve',
  usage: 'quarry serve --config pipelines.yaml [--port 8080] [--host 127.0.0.1]',
  summary: 'Serve pipelines over HTTP (search, batch, metrics) with the playground page; needs npm install @quarry/server.',
  specs: () => specs,
  async run(argv, { registry, signal }) {
    const { values } = parseCommandArgs(argv, specs);
    if (!values['config']) throw new ConfigError('quarry serve needs --config FILE (YAML or JSON: `pipelines: {bm25: {dataset: DIR, pipeline: bm25}}`). See --help.');
    const server = await loadServerModule();
    // SIGINT comes in through `signal` (bin.ts); SIGTERM (service managers, containers) also closes gracefully.
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGTERM', stop);
    try {
      await server.serve({ ...server.serveOptions(values), registry, signal: controller.signal });
    } finally {
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
    }
  },
};
