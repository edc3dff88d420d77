import { QuarryError, type PluginRegistry } from '@quarry/core';
import { helpText } from './args.js';
import { boolCommand } from './commands/bool.js';
import type { Command } from './commands/command.js';
import { demoCommand } from './commands/demo.js';
import { drtCommand } from './commands/drt.js';
import { evalCommand } from './commands/eval.js';
import { indexCommand } from './commands/index-cmd.js';
import { mineCommand } from './commands/mine.js';
import { pipelinesCommand } from './commands/pipelines-cmd.js';
import { searchCommand } from './commands/search.js';
import { serveCommand } from './commands/serve.js';
import { trainCommand } from './commands/train.js';
import { defaultRegistry } from './plugins.js';

export const commands: readonly Command[] = [indexCommand, searchCommand, evalCommand, mineCommand, trainCommand, pipelinesCommand, demoCommand, serveCommand, drtCommand, boolCommand];

function usage(): string {
  const rows = commands.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`);
  return `Usage: quarry <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun \`quarry <command> --help\` for a command's options.\n`;
}

export interface MainIO {
  out(line: string): void;
  err(line: string): void;
  registry?: PluginRegistry;
  signal?: AbortSignal;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 bad usage). */
export async function main(argv: string[], io: MainIO = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`quarry: unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  const registry = io.registry ?? defaultRegistry();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(helpText(command.usage, command.summary, command.specs(registry)));
    return 0;
  }
  try {
    await command.run(rest, { registry, out: io.out, signal: io.signal });
    return 0;
  } catch (error) {
    if (error instanceof QuarryError) {
      io.err(`quarry ${name}: error [${error.code}]: ${error.message}`);
      return error.code === 'CONFIG_INVALID' || error.code === 'PLUGIN_UNKNOWN' ? 2 : 1;
    }
    io.err(`quarry ${name}: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}
