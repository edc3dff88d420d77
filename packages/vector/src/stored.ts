import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { IndexCorruptError, openIndexDir, readTyped, safeJoin, type IndexManifest } from '@quarry/core';
import type { Metric } from './types.js';

// Helpers for reading saved indexes back: every malformed field becomes an
// IndexCorruptError naming the folder, never a TypeError deep inside a loader.

export const FLAT_FORMAT = 'quarry-flat';
export const HNSW_FORMAT = 'quarry-hnsw';
export const FORMAT_VERSION = 1;

/** Binary files hold native-endian numbers; the manifest records which, and loading checks it. */
export const BYTE_ORDER = endianness();

/** Manifest meta fields every vector index writes. */
export interface CommonMeta {
  dim: number;
  metric: Metric;
  size: number;
  byteOrder: 'LE' | 'BE';
}

export async function openVectorDir(dir: string, format: string): Promise<IndexManifest> {
  const manifest = await openIndexDir(dir, format, [FORMAT_VERSION]);
  if (typeof manifest.meta !== 'object' || manifest.meta === null) throw new IndexCorruptError('manifest has no meta object', dir);
  return manifest;
}

export function metaInt(meta: Record<string, unknown>, key: string, dir: string, min = 0): number {
  const v = meta[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new IndexCorruptError(`manifest meta.${key} must be an integer >= ${min}, got ${JSON.stringify(v)}`, dir);
  return v;
}

export function commonMeta(meta: Record<string, unknown>, dir: string): CommonMeta {
  const metric = meta['metric'];
  if (metric !== 'ip' && metric !== 'cosine') throw new IndexCorruptError(`manifest meta.metric must be "ip" or "cosine", got ${JSON.stringify(metric)}`, dir);
  const byteOrder = meta['byteOrder'];
  if (byteOrder !== BYTE_ORDER) throw new IndexCorruptError(`index was written on a ${String(byteOrder)} machine; this one is ${BYTE_ORDER}. Rebuild it here.`, dir);
  return { dim: metaInt(meta, 'dim', dir, 1), metric, size: metaInt(meta, 'size', dir), byteOrder: BYTE_ORDER };
}

/** Reads `ids.json`: an array of `expected` distinct strings. */
export async function readIds(dir: string, expected: number): Promise<string[]> {
  let ids: unknown;
  try {
    ids = JSON.parse(await readFile(safeJoin(dir, 'ids.json'), 'utf8'));
  } catch (error) {
    throw new IndexCorruptError(`ids.json is unreadable (${(error as Error).message})`, dir);
  }
  if (!Array.isArray(ids) || ids.length !== expected || ids.some((id) => typeof id !== 'string')) {
    throw new IndexCorruptError(`ids.json must be an array of ${expected} strings`, dir);
  }
  if (new Set(ids).size !== ids.length) throw new IndexCorruptError('ids.json holds duplicate ids', dir);
  return ids as string[];
}

export async function readBinary<T extends Float32Array | Uint32Array>(
  dir: string,
  name: string,
  ctor: { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
  expectedLength: number,
): Promise<T> {
  let array: T;
  try {
    array = readTyped(await readFile(safeJoin(dir, name)), ctor);
  } catch (error) {
    throw new IndexCorruptError(`${name} is unreadable (${(error as Error).message})`, dir);
  }
  if (array.length !== expectedLength) throw new IndexCorruptError(`${name} holds ${array.length} values, expected ${expectedLength}`, dir);
  return array;
}
