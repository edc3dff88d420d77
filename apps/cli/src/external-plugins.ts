import { existsSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, closestMatch, type Plugin, type PluginKind, type PluginRegistry } from '@quarry/core';

const PACKAGE_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
const KINDS: readonly PluginKind[] = ['retriever', 'reranker', 'rewriter'];

/** Environment variable listing the third-party plugin packages a run may import (comma-separated). */
export const PLUGINS_ENV = 'QUARRY_PLUGINS';

interface StageLike {
  plugin: string;
}
interface ConfigLike {
  retrievers: readonly StageLike[];
  rewriter?: StageLike;
  reranker?: StageLike;
}

export interface ExternalPluginOptions {
  /**
   * Package names the user allowed (the CLI's `--plugin NAME`), on top of those in
   * QUARRY_PLUGINS. A stage naming any other non-built-in plugin imports nothing.
   */
  allow?: readonly string[];
  /** Where QUARRY_PLUGINS is read from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The allowed third-party plugin packages: `--plugin` values (a string or the list of a
 * repeated flag, each may be comma-separated) plus QUARRY_PLUGINS. Every name must be an
 * npm package name; Node built-ins (`os`, `fs`...) and file paths are refused.
 */
export function allowedPlugins(flag: unknown, env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const given = [...(Array.isArray(flag) ? flag : flag === undefined ? [] : [flag]), env[PLUGINS_ENV] ?? ''];
  const names = given
    .flatMap((v) => String(v).split(','))
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of names) checkPackageName(name, `--plugin / ${PLUGINS_ENV}`);
  return [...new Set(names)];
}

/**
 * Third-party plugins: a pipeline stage may name an npm package instead of a built-in
 * plugin, but only a package the user allowed (`--plugin NAME` or QUARRY_PLUGINS). Pipeline
 * files and saved indexes are data, so what they name is never imported on their say-so,
 * and never from their own folder: an allowed package resolves from the working directory
 * (the user's project) or the CLI's own install. Node built-in names and file paths are
 * refused. The one plugin of the stage's kind the package exports is registered under the
 * package's name. Built-in names always win.
 */
export async function registerExternalPlugins(config: ConfigLike, registry: PluginRegistry, options: ExternalPluginOptions = {}): Promise<void> {
  const stages: [PluginKind, StageLike][] = [
    ...config.retrievers.map((s) => ['retriever', s] as [PluginKind, StageLike]),
    ...(config.rewriter ? [['rewriter', config.rewriter] as [PluginKind, StageLike]] : []),
    ...(config.reranker ? [['reranker', config.reranker] as [PluginKind, StageLike]] : []),
  ];
  let allowed: string[] | undefined;
  for (const [kind, stage] of stages) {
    const name = stage.plugin;
    if (typeof name !== 'string' || registry.has(kind, name)) continue;
    // Any other non-package name is left to the registry, which reports it as an unknown plugin.
    if (!PACKAGE_NAME.test(name) && !isBuiltin(name) && !looksLikePath(name)) continue;
    checkPackageName(name, `${kind} stage`);
    allowed ??= allowedPlugins(options.allow ?? [], options.env ?? process.env);
    if (!allowed.includes(name)) {
      // A name one typo away from a built-in (bm52) is almost surely that built-in.
      const suggestion = closestMatch(name, registry.names(kind));
      throw new ConfigError(
        `Plugin "${name}" is not a built-in ${kind} plugin${suggestion ? ` (did you mean "${suggestion}"?)` : ''} (${registry.names(kind).join(', ')}) nor an allowed third-party package. ` +
          `Third-party plugins run code, so a pipeline file or index cannot load one on its own: if you trust the package, install it in your project ` +
          `(npm install ${name}) and allow it with --plugin ${name} or ${PLUGINS_ENV}=${name}.`,
        [{ path: 'plugin', message: `"${name}" is not allowed` }],
      );
    }
    const file = resolvePackage(name, [process.cwd(), dirname(fileURLToPath(import.meta.url))]);
    if (!file) {
      throw new ConfigError(`Plugin "${name}" is allowed but not installed in the working directory's project nor next to the CLI; install it there (npm install ${name}).`);
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`Plugin package "${name}" (${file}) failed to load: ${(error as Error).message}. Check that it and its peer dependencies (@quarry/core) are installed.`);
    }
    const found = exportedPlugins(mod).filter((p) => p.kind === kind);
    if (found.length !== 1) {
      throw new ConfigError(`Package "${name}" exports ${found.length} ${kind} plugins; a pipeline stage can name a package that exports exactly one.`);
    }
    registry.register({ ...found[0]!, name } as Plugin);
  }
}

/** Refuses what must never be imported as a plugin: Node built-ins and anything but a bare package name. */
function checkPackageName(name: string, where: string): void {
  if (isBuiltin(name)) {
    throw new ConfigError(`Plugin "${name}" (${where}) is a Node.js built-in module, not a Quarry plugin package; name a built-in Quarry plugin or an npm package.`);
  }
  if (!PACKAGE_NAME.test(name)) {
    throw new ConfigError(`Plugin "${name}" (${where}) is not a plugin name nor an npm package name; file paths are not accepted (install the plugin as a package and name the package).`);
  }
}

function looksLikePath(name: string): boolean {
  return /^[./~]|^[A-Za-z]:|[\\/]/.test(name);
}

function resolvePackage(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    try {
      const file = createRequire(join(dir, 'noop.js')).resolve(name);
      // A bare name that resolves to a built-in would be re-read as a file path below.
      if (!isBuiltin(file)) return file;
    } catch {
      // not installed there; try the next folder
    }
  }
  return undefined;
}

function exportedPlugins(mod: Record<string, unknown>): Plugin[] {
  const values = Object.values(mod).flatMap((v) => (Array.isArray(v) ? v : [v]));
  return [...new Set(values)].filter(isPlugin);
}

function isPlugin(value: unknown): value is Plugin {
  const p = value as Partial<Plugin> | null;
  return !!p && typeof p === 'object' && KINDS.includes(p.kind as PluginKind) && typeof p.name === 'string' && typeof p.create === 'function' && !!p.schema;
}
