/**
 * Every failure Quarry raises on purpose is a `QuarryError` with a stable `code`
 * (safe to switch on) and a message that says what to fix.
 */
export type QuarryErrorCode =
  | 'CONFIG_INVALID'
  | 'PLUGIN_UNKNOWN'
  | 'PLUGIN_DUPLICATE'
  | 'DATASET_NOT_FOUND'
  | 'DATASET_MALFORMED'
  | 'RUN_MALFORMED'
  | 'INPUT_INVALID'
  | 'DIMENSION_MISMATCH'
  | 'DUPLICATE_ID'
  | 'NOT_FOUND'
  | 'INDEX_CORRUPT'
  | 'INDEX_VERSION'
  | 'MODEL_INVALID'
  | 'PATH_ESCAPE'
  | 'ABORTED'
  | 'UPSTREAM_FAILED'
  | 'MODEL_MISMATCH';

export class QuarryError extends Error {
  readonly code: QuarryErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: QuarryErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** A config object failed its schema; `issues` lists each offending path. */
export class ConfigError extends QuarryError {
  constructor(message: string, readonly issues: readonly { path: string; message: string }[] = []) {
    super('CONFIG_INVALID', message, { issues });
  }
}

/** A plugin name that the registry does not know; `available` lists those it does. */
export class PluginNotFoundError extends QuarryError {
  constructor(readonly kind: string, readonly pluginName: string, readonly available: readonly string[]) {
    super(
      'PLUGIN_UNKNOWN',
      `Unknown ${kind} plugin "${pluginName}". Available ${kind} plugins: ${available.length ? available.join(', ') : '(none registered)'}.`,
      { kind, name: pluginName, available },
    );
  }
}

/** A dataset file is missing or a line in it cannot be parsed. */
export class DatasetError extends QuarryError {
  constructor(code: 'DATASET_NOT_FOUND' | 'DATASET_MALFORMED' | 'RUN_MALFORMED', message: string, readonly file: string, readonly line?: number) {
    super(code, line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`, { file, line });
  }
}

/** A caller passed a value the API cannot accept (wrong shape, NaN, empty...). */
export class InputError extends QuarryError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('INPUT_INVALID', message, details);
  }
}

export class DimensionMismatchError extends QuarryError {
  constructor(readonly expected: number, readonly actual: number, what = 'vector') {
    super('DIMENSION_MISMATCH', `Expected a ${what} of dimension ${expected}, got ${actual}.`, { expected, actual });
  }
}

export class DuplicateIdError extends QuarryError {
  constructor(readonly id: string, where = 'index') {
    super('DUPLICATE_ID', `Id "${id}" is already in the ${where}; delete it first or use a unique id.`, { id });
  }
}

/** An on-disk index failed its manifest or checksum check. */
export class IndexCorruptError extends QuarryError {
  constructor(message: string, readonly dir: string) {
    super('INDEX_CORRUPT', `${dir}: ${message}`, { dir });
  }
}

export class AbortError extends QuarryError {
  constructor(what = 'operation') {
    super('ABORTED', `The ${what} was cancelled.`);
  }
}

/** Throws `AbortError` if the signal has fired; call at loop boundaries of long work. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new AbortError(what);
}
