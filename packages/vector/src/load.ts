import { readFile } from 'node:fs/promises';
import { IndexCorruptError, MANIFEST_FILE, safeJoin } from '@quarry/core';
import { FlatIndex } from './flat-index.js';
import { HnswIndex } from './hnsw-index.js';
import { FLAT_FORMAT, HNSW_FORMAT } from './stored.js';
import type { VectorIndex } from './types.js';

/** Loads a `FlatIndex` or `HnswIndex` saved in `dir`, whichever its manifest names. */
export async function loadVectorIndex(dir: string): Promise<VectorIndex> {
  let format: unknown;
  try {
    format = (JSON.parse(await readFile(safeJoin(dir, MANIFEST_FILE), 'utf8')) as { format?: unknown }).format;
  } catch (error) {
    throw new IndexCorruptError(`no readable ${MANIFEST_FILE} (${(error as Error).message}); is this a saved vector index?`, dir);
  }
  if (format === FLAT_FORMAT) return FlatIndex.load(dir);
  if (format === HNSW_FORMAT) return HnswIndex.load(dir);
  throw new IndexCorruptError(`holds a ${JSON.stringify(format)} index; expected "${FLAT_FORMAT}" or "${HNSW_FORMAT}"`, dir);
}
