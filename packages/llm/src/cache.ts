import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { QuarryError, writeFileAtomic } from '@quarry/core';

const CACHE_FORMAT = 'quarry-llm-cache';
const CACHE_VERSION = 1;

/** What identifies a generation: everything that changes the server's answer, and nothing secret. */
export interface CacheKeyParts {
  /** The endpoint URL without credentials (different servers may serve different weights under one name). */
  endpoint: string;
  model: string;
  body: Record<string, unknown>;
  salt?: string;
}

/** Canonical JSON (sorted keys) so that equal requests hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 hex of the canonical request. The API key is never part of it. */
export function cacheKey(parts: CacheKeyParts): string {
  return createHash('sha256')
    .update(canonicalJson({ v: CACHE_VERSION, endpoint: parts.endpoint, model: parts.model, body: parts.body, salt: parts.salt ?? null }))
    .digest('hex');
}

/**
 * Generations on disk, one JSON file per request under `<dir>/<2 hex>/<64 hex>.json`.
 * Writes are atomic (temp file + rename), so concurrent runs and crashes never leave a
 * half-written entry; an unreadable entry counts as a miss and is overwritten.
 */
export class GenerationCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The file of a key; keys are 64 lowercase hex digits, so nothing can escape the folder. */
  pathOf(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new QuarryError('PATH_ESCAPE', `Invalid LLM cache key "${key.slice(0, 80)}": expected 64 hex digits.`);
    const file = join(this.dir, key.slice(0, 2), `${key}.json`);
    if (!file.startsWith(this.dir + sep)) throw new QuarryError('PATH_ESCAPE', `LLM cache path escapes ${this.dir}.`);
    return file;
  }

  async get(key: string): Promise<unknown | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathOf(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const entry = JSON.parse(text) as { format?: string; version?: number; key?: string; response?: unknown };
      if (entry.format !== CACHE_FORMAT || entry.version !== CACHE_VERSION || entry.key !== key) return undefined;
      return entry.response;
    } catch {
      return undefined;
    }
  }

  async set(key: string, response: unknown, meta: { endpoint: string; model: string }): Promise<void> {
    const entry = { format: CACHE_FORMAT, version: CACHE_VERSION, key, endpoint: meta.endpoint, model: meta.model, created: new Date().toISOString(), response };
    await writeFileAtomic(this.pathOf(key), `${JSON.stringify(entry)}\n`);
  }
}
