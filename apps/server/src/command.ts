import { parseArgs } from 'node:util';
import { ConfigError, QuarryError, type PluginRegistry } from '@quarry/core';
import { serve, type LogOptions } from './server.js';

export const serveUsage = `Usage: quarry-server --config FILE [--port 8080] [--host 127.0.0.1] [--log-level info]

Serve the pipelines named in FILE over HTTP (same as \`quarry serve\`), with the playground at /.

Options:
  --config FILE        YAML or JSON: pipelines: {NAME: {dataset: DIR, pipeline: NAME|FILE} | {index: DIR}}
  --port N             port to listen on (default: the config's server.port, else 8080; 0 = any free port)
  --host HOST          address to bind (default: the config's server.host, else 127.0.0.1, loopback only)
  --allowed-host NAME  also answer requests whose Host header is NAME (repeatable; *.example.com for subdomains);
                       localhost and IP addresses are always answered, other names get 403 (DNS rebinding)
  --log-level LEVEL    fatal, error, warn, info (default), debug or silent; logs are JSON lines on stdout
  -h, --help           show this help

Example:
  quarry-server --config pipelines.yaml --port 8080
  curl -s localhost:8080/search -H 'content-type: application/json' -d '{"pipeline":"bm25","query":"vitamin D","k":3}'
`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Parses `--port`, `--host`, `--log-level` the same way for `quarry serve` and `quarry-server`. */
export function serveOptions(values: Record<string, unknown>): { configFile: string; port?: number; host?: string; allowedHosts?: string[]; log: LogOptions } {
  if (!values['config']) throw new ConfigError('quarry serve needs --config FILE (YAML or JSON: `pipelines: {bm25: {dataset: DIR, pipeline: bm25}}`). See --help.');
  let port: number | undefined;
  if (values['port'] !== undefined) {
    port = Number(values['port']);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`--port must be an integer from 0 to 65535, got "${String(values['port'])}".`);
  }
  const level = String(values['log-level'] ?? 'info');
  if (!(LEVELS as readonly string[]).includes(level)) throw new ConfigError(`--log-level must be one of ${LEVELS.join(', ')}, got "${level}".`);
  return {
    configFile: String(values['config']),
    ...(port !== undefined ? { port } : {}),
    ...(values['host'] !== undefined ? { host: String(values['host']) } : {}),
    ...(values['allowed-host'] !== undefined ? { allowedHosts: ([] as unknown[]).concat(values['allowed-host']).map(String) } : {}),
    log: { level: level as (typeof LEVELS)[number] },
  };
}

/** The `quarry-server` command: returns the exit code (0 after a clean shutdown, 1 failure, 2 usage error). */
export async function runServeCommand(argv: string[], io: { err(line: string): void; out(line: string): void; signal: AbortSignal; registry?: PluginRegistry }): Promise<number> {
  try {
    let values: Record<string, unknown>;
    try {
      values = parseArgs({
        args: argv,
        options: {
          config: { type: 'string' },
          port: { type: 'string' },
          host: { type: 'string' },
          'allowed-host': { type: 'string', multiple: true },
          'log-level': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      }).values;
    } catch (error) {
      throw new ConfigError(`${(error as Error).message}. See --help.`);
    }
    if (values['help']) {
      io.out(serveUsage);
      return 0;
    }
    await serve({ ...serveOptions(values), signal: io.signal, ...(io.registry ? { registry: io.registry } : {}) });
    return 0;
  } catch (error) {
    if (error instanceof QuarryError) {
      io.err(`quarry-server: error [${error.code}]: ${error.message}`);
      return error.code === 'CONFIG_INVALID' || error.code === 'PLUGIN_UNKNOWN' ? 2 : 1;
    }
    io.err(`quarry-server: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}
