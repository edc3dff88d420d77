import type { z } from 'zod';
import { PluginNotFoundError, QuarryError } from './errors.js';
import { closestMatch, formatConfigPath, parseConfig, type ConfigSource } from './schema.js';
import type { DocStore, ProgressCallback, QueryRewriter, Reranker, Retriever } from './types.js';

/** What a plugin factory receives besides its options. */
export interface PluginContext {
  /** The collection the pipeline serves (retrievers index it; rerankers and rewriters read it). */
  docs: DocStore;
  /** A folder where a plugin may cache derived data (models, encodings); absent = no caching. */
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** A built stage that can write itself to a folder; its plugin's `load` reads it back. */
export interface Persistable {
  save(dir: string): Promise<void>;
}

/** A command-line flag that a plugin adds to `quarry index|search|eval`, mapped onto one option. */
export interface PluginCliOption {
  /** The flag's name without dashes (`k1` becomes `--k1`). */
  flag: string;
  option: string;
  type: 'string' | 'number' | 'boolean';
  description: string;
}

interface PluginBase<S extends z.ZodType, T> {
  name: string;
  description: string;
  /** Validates and defaults the plugin's options (pipeline files, CLI flags, server requests). */
  schema: S;
  create(options: z.output<S>, context: PluginContext): Promise<T>;
  /** Restores what `Persistable.save` wrote; plugins without it are rebuilt from the docs. */
  load?(dir: string, options: z.output<S>, context: PluginContext): Promise<T>;
  cliOptions?: readonly PluginCliOption[];
  /**
   * Options that name a file or folder (model folders, cache folders). In a config file they
   * resolve relative to the file's folder and may not leave it; hosts apply this, see SECURITY.md.
   */
  pathOptions?: readonly string[];
}

export interface RetrieverPlugin<S extends z.ZodType = z.ZodType> extends PluginBase<S, Retriever> {
  kind: 'retriever';
}
export interface RerankerPlugin<S extends z.ZodType = z.ZodType> extends PluginBase<S, Reranker> {
  kind: 'reranker';
}
export interface RewriterPlugin<S extends z.ZodType = z.ZodType> extends PluginBase<S, QueryRewriter> {
  kind: 'rewriter';
}

export type Plugin = RetrieverPlugin | RerankerPlugin | RewriterPlugin;
export type PluginKind = Plugin['kind'];
type PluginOf<K extends PluginKind> = Extract<Plugin, { kind: K }>;
type InstanceOf<K extends PluginKind> = K extends 'retriever' ? Retriever : K extends 'reranker' ? Reranker : QueryRewriter;

/** Identity helper that keeps a plugin's option types precise at the definition site. */
export function definePlugin<S extends z.ZodType, P extends { kind: PluginKind; schema: S }>(plugin: P & PluginBase<S, InstanceOf<P['kind']>>): P {
  return plugin;
}

/**
 * Plugins by kind and name. A plugin package exports its plugin objects; an app
 * (or a user) registers the ones it wants. Nothing registers itself on import.
 */
export class PluginRegistry {
  readonly #plugins = new Map<string, Plugin>();

  register(...plugins: Plugin[]): this {
    for (const plugin of plugins) {
      const key = `${plugin.kind}:${plugin.name}`;
      if (this.#plugins.has(key)) throw new QuarryError('PLUGIN_DUPLICATE', `A ${plugin.kind} plugin named "${plugin.name}" is already registered.`);
      this.#plugins.set(key, plugin);
    }
    return this;
  }

  /** The plugin, or a `PluginNotFoundError` suggesting the closest name (and saying where it was written, given a source). */
  get<K extends PluginKind>(kind: K, name: string, source?: ConfigSource): PluginOf<K> {
    const plugin = this.#plugins.get(`${kind}:${name}`);
    if (!plugin) {
      const names = this.names(kind);
      const where = [source?.file, source?.path?.length ? formatConfigPath(source.path) : undefined].filter(Boolean).join(': ');
      throw new PluginNotFoundError(kind, name, names, closestMatch(name, names), where || undefined);
    }
    return plugin as PluginOf<K>;
  }

  has(kind: PluginKind, name: string): boolean {
    return this.#plugins.has(`${kind}:${name}`);
  }

  names(kind: PluginKind): string[] {
    return [...this.#plugins.values()]
      .filter((p) => p.kind === kind)
      .map((p) => p.name)
      .sort();
  }

  list(): Plugin[] {
    return [...this.#plugins.values()];
  }

  /**
   * Validates options against the plugin's schema (errors name the plugin, and with a
   * `source` the file and the options' path in it) and returns them with defaults.
   */
  validate(kind: PluginKind, name: string, options: unknown, source?: ConfigSource): Record<string, unknown> {
    // The options' path in a pipeline file ends in `options`; the name sits beside it under `plugin`.
    const at = source?.path?.at(-1) === 'options' ? { ...source, path: [...source.path!.slice(0, -1), 'plugin'] } : source;
    const plugin = this.get(kind, name, at);
    return parseConfig(plugin.schema, options ?? {}, `options for ${kind} plugin "${name}"`, source) as Record<string, unknown>;
  }
}
