import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { DatasetError } from './errors.js';

/**
 * Streams the lines of a text file, gunzipping `*.gz` transparently. Yields
 * `[lineNumber, text]` (1-based) so parse errors can name the line.
 */
export async function* readLines(file: string): AsyncGenerator<[number, string]> {
  if (!existsSync(file)) throw new DatasetError('DATASET_NOT_FOUND', 'file not found', file);
  const raw = createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      yield [n, line];
    }
  } catch (error) {
    throw new DatasetError('DATASET_MALFORMED', `could not read (${(error as Error).message})`, file, n || undefined);
  } finally {
    rl.close();
    raw.destroy();
  }
}

/** Streams a JSON-lines file, one parsed object per non-empty line. */
export async function* readJsonLines(file: string): AsyncGenerator<[number, Record<string, unknown>]> {
  for await (const [n, line] of readLines(file)) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DatasetError('DATASET_MALFORMED', `invalid JSON (${(error as Error).message})`, file, n);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DatasetError('DATASET_MALFORMED', 'expected a JSON object on each line', file, n);
    }
    yield [n, value as Record<string, unknown>];
  }
}
