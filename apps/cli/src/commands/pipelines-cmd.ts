import { z } from '@quarry/core';
import { parseCommandArgs, type OptionSpecs } from '../args.js';
import { availablePipelines, builtinPipelines } from '../pipelines.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  json: { type: 'boolean', description: 'print pipelines and plugins (with JSON Schemas of their options) as JSON' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const pipelinesCommand: Command = {
  name: 'pipelines',
  usage: 'quarry pipelines [--json]',
  summary: 'List the built-in pipelines and every registered plugin with its options.',
  specs: () => specs,
  async run(argv, { registry, out }) {
    const { values } = parseCommandArgs(argv, specs);
    const names = availablePipelines(registry);
    const plugins = registry.list().map((p) => ({
      kind: p.kind,
      name: p.name,
      description: p.description,
      options: z.toJSONSchema(p.schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, { type?: string; default?: unknown; description?: string }> },
      flags: (p.cliOptions ?? []).map((o) => `--${o.flag}`),
    }));
    if (values['json']) {
      out(JSON.stringify({ pipelines: Object.fromEntries(names.map((n) => [n, builtinPipelines[n]])), plugins }));
      return;
    }
    out('Built-in pipelines (use with --pipeline NAME):');
    for (const n of names) out(`  ${n.padEnd(16)} ${builtinPipelines[n]!.description ?? ''}`);
    out('\nPlugins (use in a pipeline file as {plugin: NAME, options: {...}}):');
    for (const p of plugins) {
      out(`  ${p.kind} ${p.name}: ${p.description}`);
      for (const [opt, s] of Object.entries(p.options.properties ?? {})) {
        out(`      ${opt.padEnd(16)} ${String(s.type ?? '').padEnd(8)} ${s.default !== undefined ? `default ${JSON.stringify(s.default)}` : ''}`);
      }
      if (p.flags.length) out(`      CLI flags: ${p.flags.join(' ')}`);
    }
  },
};
