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

/** Loads @quarry/server at run time; the other commands work without it installed. */
export async function loadServerModule(specifier = '@quarry/server'): Promise<ServerModule> {
  try {
    return (await import(specifier)) as ServerModule;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && e.message.includes(specifier)) {
      throw new QuarryError('NOT_FOUND', `quarry serve needs the ${specifier} package, which is not installed: npm install ${specifier} (next to @quarry/cli, e.g. npm install -g ${specifier}).`);
    }
    throw error;
  }
}

export const serveCommand: Command = {
  name: 'serve',
  usage: 'quarry serve --config pipelines.yaml [--port 8080] [--host 127.0.0.1]',
  summary: 'Serve pipelines over HTTP (search, batch, metrics) with the playground page; needs @quarry/server.',
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
