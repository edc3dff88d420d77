import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/index.js';

export const scifact = join(__dirname, '../../../datasets/scifact');

/** Runs the CLI in-process and captures what it prints. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Points the pipeline cache at a fresh temporary folder (never the user's). */
export function useTemporaryCache(): void {
  process.env['QUARRY_CACHE_DIR'] = mkdtempSync(join(tmpdir(), 'quarry-cli-cache-'));
}
