// Writes one benchmark's results into BENCHMARKS.md between its own markers, so every
// package's `npm run bench` updates its section without touching the others.
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'BENCHMARKS.md');

/** A one-line description of this machine, printed under every section. */
export function machineLine() {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Replaces (or appends) the section `name` with `markdown`, stamped with command, machine and date. */
export function writeBenchSection(name, { title, command, markdown }) {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const body = [start, `## ${title}`, '', `Command: \`${command}\`  `, `Machine: ${machineLine()}  `, `Date: ${new Date().toISOString().slice(0, 10)}`, '', markdown.trim(), end].join('\n');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nEvery figure here is written by `npm run bench` (or the per-section command). Re-run it to refresh.\n';
  const re = new RegExp(`${start}[\\s\\S]*?${end}`);
  text = re.test(text) ? text.replace(re, body) : `${text.trimEnd()}\n\n${body}\n`;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Formats rows (arrays of cells) as a Markdown table. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
