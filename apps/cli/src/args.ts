import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, type PluginRegistry } from '@quarry/core';

/** A plugin that declares a flag, and what it says the flag does. */
export interface FlagOwner {
  kind: string;
  plugin: string;
  description: string;
}

/** A flag: parseArgs' config plus help text; `owners` = the plugins that declare it (absent for a command's own flags). */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string; owners?: readonly FlagOwner[] };
export type OptionSpecs = Record<string, OptionSpec>;

/** Options every plugin adds to index/search/eval through its `cliOptions`. */
export function pluginOptions(registry: PluginRegistry): OptionSpecs {
  const specs: OptionSpecs = {
    plugin: { type: 'string', multiple: true, description: 'allow this installed third-party plugin package (repeatable; also QUARRY_PLUGINS=a,b)', valueName: 'PACKAGE' },
  };
  for (const plugin of registry.list()) {
    for (const opt of plugin.cliOptions ?? []) {
      // Several plugins may declare one flag (--encoder, --dim): it is one flag, set on each of them.
      const owner = { kind: plugin.kind, plugin: plugin.name, description: opt.description };
      const known = specs[opt.flag];
      if (known?.owners) specs[opt.flag] = { ...known, owners: [...known.owners, owner] };
      else
        specs[opt.flag] = {
          type: opt.type === 'boolean' ? 'boolean' : 'string',
          description: opt.description,
          valueName: opt.type === 'boolean' ? undefined : opt.type.toUpperCase(),
          owners: [owner],
        };
    }
  }
  return specs;
}

/** Parses argv strictly; unknown flags and missing values become a ConfigError naming them. */
export function parseCommandArgs(argv: string[], specs: OptionSpecs, registry?: PluginRegistry): { values: Record<string, unknown>; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(specs).map(([k, { description: _d, valueName: _v, owners: _o, ...o }]) => [k, o]));
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}. See --help.`);
  }
  const values: Record<string, unknown> = { ...parsed.values };
  // Plugin flags are typed by their plugin: convert numbers here so the plugin schema sees numbers.
  if (registry) {
    for (const plugin of registry.list()) {
      for (const opt of plugin.cliOptions ?? []) {
        const v = values[opt.flag];
        if (opt.type === 'number' && typeof v === 'string') {
          const n = Number(v);
          if (!Number.isFinite(n)) throw new ConfigError(`--${opt.flag} expects a number, got "${v}".`);
          values[opt.flag] = n;
        }
      }
    }
  }
  return { values, positionals: parsed.positionals };
}

export function intOption(values: Record<string, unknown>, name: string, fallback: number, min = 1): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name} must be an integer >= ${min}, got "${String(raw)}".`);
  return n;
}

/**
 * The command's help: its own options, then plugin flags grouped by the plugin that owns
 * them, and flags that several plugins declare listed once, naming every owner.
 */
export function helpText(usage: string, summary: string, specs: OptionSpecs): string {
  const row = (name: string, s: OptionSpec, description: string): string => {
    const flag = `--${name}${s.type === 'string' ? ` ${s.valueName ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(28)} ${description}`;
  };
  const label = (o: FlagOwner): string => `${o.plugin} (${o.kind})`;
  const own: string[] = [];
  const shared: string[] = [];
  const byPlugin = new Map<string, string[]>();
  for (const [name, s] of Object.entries(specs)) {
    if (!s.owners?.length) own.push(row(name, s, s.description));
    else if (s.owners.length === 1) {
      const key = label(s.owners[0]!);
      byPlugin.set(key, [...(byPlugin.get(key) ?? []), row(name, s, s.description)]);
    } else {
      // One line per flag; owners that describe it alike are named together.
      const groups = new Map<string, string[]>();
      const named = (o: FlagOwner) => (s.owners!.filter((x) => x.plugin === o.plugin).length > 1 ? label(o) : o.plugin);
      for (const o of s.owners) groups.set(o.description, [...(groups.get(o.description) ?? []), named(o)]);
      shared.push(row(name, s, [...groups].map(([d, plugins]) => `${d} [${plugins.join(', ')}]`).join('; ')));
    }
  }
  let text = `Usage: ${usage}\n\n${summary}\n\nOptions:\n${own.join('\n')}\n`;
  if (shared.length) text += `\nShared plugin options (each applies to every plugin named):\n${shared.join('\n')}\n`;
  for (const [plugin, rows] of byPlugin) text += `\nPlugin ${plugin}:\n${rows.join('\n')}\n`;
  return text;
}
