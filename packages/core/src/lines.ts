import { createReadStream, existsSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { DatasetError } from './errors.js';

export interface ReadLinesOptions {
  /**
   * Replace bytes that are not valid UTF-8 with U+FFFD instead of failing. Off by default:
   * a silently mangled corpus indexes and scores wrong text. Each replaced line is reported
   * to `onInvalidUtf8`.
   */
  allowInvalidUtf8?: boolean;
  /** Called with the 1-based number of each line whose invalid bytes were replaced. */
  onInvalidUtf8?: (line: number) => void;
}

const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/**
 * Streams the lines of a text file, gunzipping `*.gz` transparently. Yields
 * `[lineNumber, text]` (1-based) so parse errors can name the line. Lines end at
 * `\n` (a `\r` before it is dropped). Bytes that are not valid UTF-8 are an error
 * naming file and line unless `allowInvalidUtf8`.
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<[number, string]> {
  if (!existsSync(file)) throw new DatasetError('DATASET_NOT_FOUND', 'file not found', file);
  const raw = createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let n = 0;
  const decode = (bytes: Uint8Array): string => {
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    const line = bytes.subarray(0, end);
    try {
      return strict.decode(line);
    } catch {
      if (!options.allowInvalidUtf8) {
        const at = firstInvalidByte(line);
        throw new DatasetError(
          'DATASET_MALFORMED',
          `is not valid UTF-8 (byte 0x${line[at]?.toString(16).padStart(2, '0') ?? '??'} at column ${at + 1}); re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), or allow replacement with U+FFFD`,
          file,
          n,
        );
      }
      options.onInvalidUtf8?.(n);
      return lenient.decode(line);
    }
  };
  let pending: Buffer[] = [];
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        const bytes = pending.length ? Buffer.concat([...pending, piece]) : piece;
        pending = [];
        start = nl + 1;
        n++;
        yield [n, decode(bytes)];
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
    }
    if (pending.length) {
      n++;
      yield [n, decode(Buffer.concat(pending))];
    }
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError('DATASET_MALFORMED', `could not read (${(error as Error).message})`, file, n || undefined);
  } finally {
    raw.destroy();
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence (for the message). */
function firstInvalidByte(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    for (let j = 1; j < len; j++) if ((bytes[i + j]! & 0xc0) !== 0x80) return i;
    try {
      strict.decode(bytes.subarray(i, i + len));
    } catch {
      return i; // overlong or surrogate forms
    }
    i += len;
  }
  return 0;
}

/** Streams a JSON-lines file, one parsed object per non-empty line. */
export async function* readJsonLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<[number, Record<string, unknown>]> {
  for await (const [n, line] of readLines(file, options)) {
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
