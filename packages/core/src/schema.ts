import { z } from 'zod';
import { ConfigError } from './errors.js';

export { z };

/**
 * Validates `value` against a zod schema, turning failures into one `ConfigError`
 * whose message lists every offending path. The CLI, the server and pipeline
 * files all go through here, so users see the same wording everywhere.
 */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n');
  throw new ConfigError(`Invalid ${what}:\n${lines}`, issues);
}
