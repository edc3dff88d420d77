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
  | 'OUTPUT_DIR_REFUSED'
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

/** One offending path of a config value; an unknown `key` comes with the closest valid one, if any. */
export interface ConfigIssue {
  /** Where in the value, e.g. `retrievers[0].options.bb`. */
  path: string;
  message: string;
  key?: string;
  suggestion?: string;
}

/** A config object failed its schema; `issues` lists each offending path, `file` the file it came from. */
export class ConfigError extends QuarryError {
  constructor(
    message: string,
    readonly issues: readonly ConfigIssue[] = [],
    readonly file?: string,
  ) {
    super('CONFIG_INVALID', message, file === undefined ? { issues } : { issues, file });
  }
}

/**
 * A plugin name that the registry does not know; `available` lists those it does and
 * `suggestion` the closest one. `where` (a file and path) says where the name was written.
 */
export class PluginNotFoundError extends QuarryError {
  constructor(
    readonly kind: string,
    readonly pluginName: string,
    readonly available: readonly string[],
    readonly suggestion?: string,
    where?: string,
  ) {
    super(
      'PLUGIN_UNKNOWN',
      `${where ? `${where}: ` : ''}Unknown ${kind} plugin "${pluginName}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}. Available ${kind} plugins: ${available.length ? available.join(', ') : '(none registered)'}.`,
      { kind, name: pluginName, available, ...(suggestion ? { suggestion } : {}), ...(where ? { where } : {}) },
    );
  }
}

/** A dataset file is missing or a line in it cannot be parsed. */
export class DatasetError extends QuarryError {
  constructor(
    code: 'DATASET_NOT_FOUND' | 'DATASET_MALFORMED' | 'RUN_MALFORMED',
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
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
  constructor(
    readonly expected: number,
    readonly actual: number,
    what = 'vector',
  ) {
    super('DIMENSION_MISMATCH', `Expected a ${what} of dimension ${expected}, got ${actual}.`, { expected, actual });
  }
}

export class DuplicateIdError extends QuarryError {
  /** With `at`, the id repeats in a file: the message names the file and both lines. */
  constructor(
    readonly id: string,
    where = 'index',
    readonly at?: { file: string; line: number; firstLine: number },
  ) {
    super(
      'DUPLICATE_ID',
      at
        ? `${at.file}:${at.line}: id "${id}" was already used on line ${at.firstLine}; ids must be unique (remove or rename one of the two lines).`
        : `Id "${id}" is already in the ${where}; delete it first or use a unique id.`,
      at ? { id, ...at } : { id },
    );
  }
}

/**
 * Quarry refused to write an index or model folder at `dir` because that would delete
 * something that is not a Quarry index (or the dataset being indexed). Nothing was touched.
 */
export class OutputDirError extends QuarryError {
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super('OUTPUT_DIR_REFUSED', `${dir}: refusing to write here: ${reason}`, { dir });
  }
}

/** An on-disk index failed its manifest or checksum check. */
export class IndexCorruptError extends QuarryError {
  constructor(
    message: string,
    readonly dir: string,
  ) {
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
