import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, type PluginRegistry } from '@quarry/core';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string };
export type OptionSpecs = Record<string, OptionSpec>;

/** Options every plugin adds to index/search/eval through its `cliOptions`. */
export function pluginOptions(registry: PluginRegistry): OptionSpecs {
  const specs: OptionSpecs = {
    plugin: { type: 'string', multiple: true, description: 'allow this installed third-party plugin package (repeatable; also QUARRY_PLUGINS=a,b)', valueName: 'PACKAGE' },
  };
  for (const plugin of registry.list()) {
    for (const opt of plugin.cliOptions ?? []) {
      specs[opt.flag] = { type: opt.type === 'boolean' ? 'boolean' : 'string', description: `${opt.description} (${plugin.kind} plugin "${plugin.name}")`, valueName: opt.type === 'boolean' ? undefined : opt.type.toUpperCase() };
    }
  }
  return specs;
}

/** Parses argv strictly; unknown flags and missing values become a ConfigError naming them. */
export function parseCommandArgs(argv: string[], specs: OptionSpecs, registry?: PluginRegistry): { values: Record<string, unknown>; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(specs).map(([k, { description: _d, valueName: _v, ...o }]) => [k, o]));
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

export function helpText(usage: string, summary: string, specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const flag = `--${name}${s.type === 'string' ? ` ${s.valueName ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(28)} ${s.description}`;
  });
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n`;
}
