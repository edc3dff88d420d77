import { ConfigError } from '@quarry/core';
import { bundledBoolModelDir, loadBoolEncoder, type BoolExplanation } from '@quarry/bool-attn';
import { parseCommandArgs, type OptionSpecs } from '../args.js';
import type { Command } from './command.js';

const specs: OptionSpecs = {
  model: { type: 'string', description: 'Boolean module folder (default: the bundled scifact-bool)', valueName: 'DIR' },
  encoder: { type: 'string', description: 'base encoder folder (default: the one the modules were trained on)', valueName: 'DIR' },
  json: { type: 'boolean', description: 'print one JSON object {text, tokens, gates, cues}' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const boolCommand: Command = {
  name: 'bool',
  usage: 'quarry bool explain [--json] [--model DIR] "query"',
  summary: 'Show how the Boolean modules read a query: cues with their operator, their scopes, and the per-token pooling bias.',
  specs: () => specs,
  async run(argv, { out }) {
    const { values, positionals } = parseCommandArgs(argv, specs);
    if (positionals[0] !== 'explain') throw new ConfigError(`quarry bool expects the subcommand "explain", got "${positionals[0] ?? ''}". See --help.`);
    const text = positionals.slice(1).join(' ').trim();
    if (!text) throw new ConfigError('quarry bool explain needs the query text, e.g. quarry bool explain "statins but not cancer".');
    const encoder = await loadBoolEncoder(
      values['model'] === undefined ? bundledBoolModelDir() : String(values['model']),
      values['encoder'] === undefined ? {} : { encoder: String(values['encoder']) },
    );
    const e = encoder.explain(text);
    if (values['json']) {
      out(JSON.stringify(e));
      return;
    }
    for (const line of formatExplanation(e)) out(line);
  },
};

/** The human-readable view: gates, each cue with its scope, then one row per token. */
export function formatExplanation(e: BoolExplanation): string[] {
  const lines = [
    `query: ${e.text}`,
    `gates: ${Object.entries(e.gates)
      .map(([op, g]) => `${op.toUpperCase()} ${g.toFixed(3)}`)
      .join('  ')}`,
  ];
  if (!e.cues.length) lines.push('cues:  (none detected; the query is encoded as by the plain encoder, up to small biases)');
  for (const c of e.cues) {
    const scope = c.scope.length ? c.scope.map((s) => s.token).join(' ') : '(empty)';
    lines.push(`cue:   ${c.op.toUpperCase().padEnd(3)} "${c.token}" @${c.index} (p ${c.prob.toFixed(3)})  scope: ${scope}`);
  }
  lines.push('', ' pos  token               cue   S_and    S_or   S_not  weight');
  for (const t of e.tokens) {
    const cue = t.cue === 'none' ? '' : t.cue.toUpperCase();
    lines.push(`${String(t.index).padStart(4)}  ${t.token.padEnd(18).slice(0, 18)}  ${cue.padEnd(4)} ${fmt(t.bias.and)} ${fmt(t.bias.or)} ${fmt(t.bias.not)} ${fmt(t.weight)}`);
  }
  return lines;
}

function fmt(x: number): string {
  return x.toFixed(3).padStart(7);
}
