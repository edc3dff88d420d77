import type { ConfigError } from '@quarry/core';

/**
 * The ConfigError that `fn` throws or rejects with (sync or async), for tests of strict
 * options: fails the test when `fn` succeeds or throws anything else.
 */
export async function configError(fn: () => unknown): Promise<ConfigError> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  if (!error) throw new Error('expected a ConfigError, but the call succeeded');
  // By code, not instanceof: a test may load @quarry/core from src while the package under test loads its dist.
  if ((error as { code?: unknown }).code !== 'CONFIG_INVALID') throw error;
  return error as ConfigError;
}

/** The first issue of the ConfigError `fn` raises (its path, the key and the suggested key). */
export async function configIssue(fn: () => unknown): Promise<ConfigError['issues'][number]> {
  return (await configError(fn)).issues[0]!;
}

/** The key the ConfigError `fn` raises suggests instead of the misspelled one. */
export async function configSuggestion(fn: () => unknown): Promise<string | undefined> {
  return (await configIssue(fn)).suggestion;
}
