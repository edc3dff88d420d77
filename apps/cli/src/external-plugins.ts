import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, type Plugin, type PluginKind, type PluginRegistry } from '@quarry/core';

const PACKAGE_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
const KINDS: readonly PluginKind[] = ['retriever', 'reranker', 'rewriter'];

interface StageLike {
  plugin: string;
}
interface ConfigLike {
  retrievers: readonly StageLike[];
  rewriter?: StageLike;
  reranker?: StageLike;
}

/**
 * Third-party plugins: a pipeline stage may name an installed npm package instead of a
 * built-in plugin. The package is resolved from the pipeline file's folder, the working
 * directory, then the CLI's own install (so `npm install quarry-plugin-x` next to the CLI
 * works), imported, and the one plugin of the stage's kind it exports is registered under
 * the package's name. Built-in names always win.
 */
export async function registerExternalPlugins(config: ConfigLike, registry: PluginRegistry, searchFrom: readonly string[] = []): Promise<void> {
  const stages: [PluginKind, StageLike][] = [
    ...config.retrievers.map((s) => ['retriever', s] as [PluginKind, StageLike]),
    ...(config.rewriter ? [['rewriter', config.rewriter] as [PluginKind, StageLike]] : []),
    ...(config.reranker ? [['reranker', config.reranker] as [PluginKind, StageLike]] : []),
  ];
  for (const [kind, stage] of stages) {
    const name = stage.plugin;
    if (registry.has(kind, name) || !PACKAGE_NAME.test(name)) continue;
    const file = resolvePackage(name, [...searchFrom, process.cwd(), dirname(fileURLToPath(import.meta.url))]);
    if (!file) {
      throw new ConfigError(
        `Plugin "${name}" is not a built-in ${kind} plugin (${registry.names(kind).join(', ')}) nor an installed package; ` +
          `install it next to the pipeline file or the CLI (npm install ${name}).`,
      );
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

function resolvePackage(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    try {
      return createRequire(join(dir, 'noop.js')).resolve(name);
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
