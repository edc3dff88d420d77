import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { ProgressCallback } from './types.js';

export { z };

/** Where a config value came from, so that its errors point at it. */
export interface ConfigSource {
  /** The file the value was read from (a pipeline YAML, the server config...). */
  file?: string;
  /** Where the value sits inside that file, e.g. `['retrievers', 0, 'options']`. */
  path?: readonly (string | number)[];
}

/**
 * Validates `value` against a zod schema, turning failures into one `ConfigError`
 * whose message lists every offending path. The CLI, the server and pipeline
 * files all go through here, so users see the same wording everywhere. With a
 * `source`, the message names the file and each path starts where the value sits
 * in it (`retrievers[0].options.bb`); a misspelled key gets the closest valid one.
 */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, what: string, source: ConfigSource = {}): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const prefix = source.path ?? [];
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // One line per key, the key in the path, and the valid keys of that very object.
      const valid = validKeysAt(schema, issue.path, value, issue.keys);
      for (const key of issue.keys) {
        const suggestion = valid ? closestMatch(key, valid) : undefined;
        const hint = suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : valid?.length ? ` (valid keys: ${valid.join(', ')})` : '';
        issues.push({
          path: formatConfigPath([...prefix, ...issue.path, key]),
          message: `Unrecognized key: "${key}"${hint}`,
          key,
          ...(suggestion !== undefined ? { suggestion } : {}),
        });
      }
    } else {
      issues.push({ path: formatConfigPath([...prefix, ...issue.path]), message: issue.message });
    }
  }
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n');
  throw new ConfigError(`Invalid ${what}${source.file ? ` in ${source.file}` : ''}:\n${lines}`, issues, source.file);
}

/** `retrievers[0].options.bb`: array indexes in brackets, keys joined by dots; `(root)` for the value itself. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(root)';
}

/**
 * The candidate closest to `word` by edit distance (adjacent swaps count as one edit,
 * case is ignored), or undefined when none is close enough to be a plausible typo.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  // A typo changes a few characters, not most of the word: at most a third of it (1 to 3 edits).
  const limit = Math.max(1, Math.min(3, Math.floor(Math.max(word.length, best.length) / 3)));
  return bestDistance <= limit ? best : undefined;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Int32Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

type Def = { type: string; [k: string]: unknown };
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** The concrete schemas a (possibly wrapped) schema stands for: wrappers peeled, unions spread. */
function concrete(schema: z.ZodType, depth = 0): z.ZodType[] {
  if (depth > 32) return [];
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return concrete(def['innerType'] as z.ZodType, depth + 1);
    case 'pipe':
      return concrete(def['in'] as z.ZodType, depth + 1);
    case 'lazy':
      return concrete((def['getter'] as () => z.ZodType)(), depth + 1);
    case 'union':
      return (def['options'] as z.ZodType[]).flatMap((o) => concrete(o, depth + 1));
    case 'intersection':
      return [...concrete(def['left'] as z.ZodType, depth + 1), ...concrete(def['right'] as z.ZodType, depth + 1)];
    default:
      return [schema];
  }
}

/**
 * The keys the object schema at `path` accepts, for suggesting one in place of an unknown key.
 * In a union, only the branches whose literal fields (a discriminator) match the value count.
 */
function validKeysAt(schema: z.ZodType, path: readonly PropertyKey[], value: unknown, unknown: readonly string[]): string[] | undefined {
  let nodes: { schema: z.ZodType; value: unknown }[] = [{ schema, value }];
  for (const segment of path) {
    const next: typeof nodes = [];
    for (const node of nodes) {
      const child = (node.value as Record<PropertyKey, unknown> | undefined)?.[segment as string];
      for (const s of concrete(node.schema)) {
        const def = defOf(s);
        if (def.type === 'object') {
          const field = (def['shape'] as Record<string, z.ZodType>)[String(segment)];
          if (field) next.push({ schema: field, value: child });
        } else if (def.type === 'array') next.push({ schema: def['element'] as z.ZodType, value: child });
        else if (def.type === 'record') next.push({ schema: def['valueType'] as z.ZodType, value: child });
      }
    }
    nodes = next;
  }
  const objects = nodes.flatMap((n) => concrete(n.schema).map((s) => ({ def: defOf(s), value: n.value }))).filter((o) => o.def.type === 'object');
  const matching = objects.filter(({ def, value: v }) =>
    Object.entries(def['shape'] as Record<string, z.ZodType>).every(([key, field]) => {
      const fdef = defOf(field);
      return fdef.type !== 'literal' || (fdef['values'] as unknown[]).includes((v as Record<string, unknown> | undefined)?.[key]);
    }),
  );
  const keys = new Set((matching.length ? matching : objects).flatMap((o) => Object.keys(o.def['shape'] as object)));
  for (const key of unknown) keys.delete(key);
  return objects.length ? [...keys] : undefined;
}

/**
 * Options every long-running public API accepts besides its configuration; spread into
 * a strict options schema (`z.strictObject({...pluginShape, ...runtimeOptionsShape})`).
 */
export const runtimeOptionsShape = {
  signal: z.custom<AbortSignal>((v) => v === undefined || v instanceof AbortSignal, 'must be an AbortSignal').optional(),
  onProgress: z.custom<ProgressCallback>((v) => v === undefined || typeof v === 'function', 'must be a function').optional(),
};

/**
 * Checks the options object a public constructor or factory received against a strict
 * schema (the package's plugin schema where it has one), so that a misspelled key fails
 * with a `ConfigError` naming it and the closest valid key instead of being ignored.
 * Only checks: the caller keeps its own defaults. `undefined` counts as `{}`.
 */
export function checkOptions(schema: z.ZodType, options: unknown, what: string): void {
  parseConfig(strict(schema), options ?? {}, what);
}

const strictened = new WeakMap<z.ZodType, z.ZodType>();

/** An object schema that rejects unknown keys (a plugin schema usually already does). */
function strict(schema: z.ZodType): z.ZodType {
  const def = defOf(schema);
  if (def.type !== 'object' || def['catchall'] !== undefined) return schema;
  let s = strictened.get(schema);
  if (!s) strictened.set(schema, (s = (schema as z.ZodObject).strict()));
  return s;
}
