import type { PluginRegistry } from '@quarry/core';
import type { OptionSpecs } from '../args.js';

export interface CommandContext {
  registry: PluginRegistry;
  /** Writes one line to stdout. */
  out(line: string): void;
  signal?: AbortSignal;
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  specs(registry: PluginRegistry): OptionSpecs;
  run(argv: string[], context: CommandContext): Promise<void>;
}
