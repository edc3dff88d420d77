import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { IndexCorruptError, QuarryError, bytesOf, openIndexDir, readTyped, saveIndexDir } from '@quarry/core';
import type { Csr } from './csr.js';

export const FORMAT = 'quarry-bm25';
export const VERSION = 1;

/** Everything a saved index holds; scoring parameters are applied at search time. */
export interface Snapshot {
  /** Live doc ids, by ordinal. */
  ids: string[];
  /** Terms, by term id. */
  terms: string[];
  /** Exact token count of each doc (the lossy Lucene norm is derived from it). */
  lengths: Int32Array;
  postings: Csr;
}

export interface SnapshotMeta {
  k1: number;
  b: number;
  lossyNorms: boolean;
  analyzer: string;
  docs: number;
  terms: number;
  postings: number;
  sumTotalTermFreq: number;
  byteOrder: 'little-endian';
}

const FILES = {
  ids: 'ids.json',
  terms: 'terms.json',
  lengths: 'doc-lengths.i32',
  offsets: 'postings-offsets.i32',
  docs: 'postings-docs.i32',
  tfs: 'postings-tfs.i32',
} as const;

function checkHostByteOrder(): void {
  // Binary files are the host's typed arrays, which are little-endian on every platform Node ships for but s390x.
  if (endianness() !== 'LE') throw new QuarryError('INPUT_INVALID', 'quarry-bm25 index files are little-endian; this big-endian host cannot read or write them.');
}

export async function writeSnapshot(dir: string, snapshot: Snapshot, meta: SnapshotMeta): Promise<void> {
  checkHostByteOrder();
  await saveIndexDir(dir, { format: FORMAT, version: VERSION, meta: { ...meta } }, async (tmp) => {
    await writeFile(join(tmp, FILES.ids), JSON.stringify(snapshot.ids));
    await writeFile(join(tmp, FILES.terms), JSON.stringify(snapshot.terms));
    await writeFile(join(tmp, FILES.lengths), bytesOf(snapshot.lengths));
    await writeFile(join(tmp, FILES.offsets), bytesOf(snapshot.postings.offsets));
    await writeFile(join(tmp, FILES.docs), bytesOf(snapshot.postings.docs));
    await writeFile(join(tmp, FILES.tfs), bytesOf(snapshot.postings.tfs));
  });
}

/**
 * Reads a saved index: the manifest's checksums first (core's `openIndexDir`),
 * then the structure itself, so that a file that is consistent with its manifest
 * but not with the other files still fails loudly instead of returning wrong hits.
 */
export async function readSnapshot(dir: string): Promise<{ snapshot: Snapshot; meta: SnapshotMeta }> {
  checkHostByteOrder();
  if (!existsSync(dir)) throw new QuarryError('NOT_FOUND', `${dir}: no such folder. Build an index and save it there first (Bm25Index#save or \`quarry index\`).`, { dir });
  const manifest = await openIndexDir(dir, FORMAT, [VERSION]);
  const corrupt = (message: string) => new IndexCorruptError(`${message}; the index is damaged, rebuild it`, dir);
  for (const name of Object.values(FILES)) if (!manifest.files?.[name]) throw corrupt(`the manifest does not list ${name}`);
  const meta = parseMeta(manifest.meta, corrupt);

  const readJson = async (name: string): Promise<string[]> => {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(join(dir, name), 'utf8'));
    } catch (error) {
      throw corrupt(`${name} is not valid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw corrupt(`${name} is not an array of strings`);
    return value as string[];
  };
  const readInts = async (name: string): Promise<Int32Array> => {
    const bytes = await readFile(join(dir, name));
    if (bytes.byteLength % 4 !== 0) throw corrupt(`${name} has ${bytes.byteLength} bytes, not a whole number of int32`);
    return readTyped(bytes, Int32Array);
  };

  const ids = await readJson(FILES.ids);
  const terms = await readJson(FILES.terms);
  const lengths = await readInts(FILES.lengths);
  const postings: Csr = { offsets: await readInts(FILES.offsets), docs: await readInts(FILES.docs), tfs: await readInts(FILES.tfs) };
  const problem = validate(ids, terms, lengths, postings, meta);
  if (problem) throw corrupt(problem);
  return { snapshot: { ids, terms, lengths, postings }, meta };
}

function parseMeta(raw: Record<string, unknown> | undefined, corrupt: (m: string) => Error): SnapshotMeta {
  const m = raw ?? {};
  const num = (key: string) => {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw corrupt(`manifest meta.${key} is missing or not a number`);
    return v;
  };
  if (typeof m['lossyNorms'] !== 'boolean') throw corrupt('manifest meta.lossyNorms is missing');
  if (typeof m['analyzer'] !== 'string') throw corrupt('manifest meta.analyzer is missing');
  if (m['byteOrder'] !== 'little-endian') throw corrupt(`manifest meta.byteOrder is ${JSON.stringify(m['byteOrder'])}, expected "little-endian"`);
  return {
    k1: num('k1'),
    b: num('b'),
    lossyNorms: m['lossyNorms'],
    analyzer: m['analyzer'],
    docs: num('docs'),
    terms: num('terms'),
    postings: num('postings'),
    sumTotalTermFreq: num('sumTotalTermFreq'),
    byteOrder: 'little-endian',
  };
}

/** Returns what is wrong with the arrays, or null when they form a valid index. */
function validate(ids: string[], terms: string[], lengths: Int32Array, postings: Csr, meta: SnapshotMeta): string | null {
  const { offsets, docs, tfs } = postings;
  const numDocs = ids.length;
  if (numDocs !== meta.docs) return `ids.json has ${numDocs} ids, the manifest says ${meta.docs}`;
  if (new Set(ids).size !== numDocs) return 'ids.json repeats an id';
  if (terms.length !== meta.terms) return `terms.json has ${terms.length} terms, the manifest says ${meta.terms}`;
  if (new Set(terms).size !== terms.length) return 'terms.json repeats a term';
  if (lengths.length !== numDocs) return `doc-lengths.i32 has ${lengths.length} entries for ${numDocs} docs`;
  if (offsets.length !== terms.length + 1) return `postings-offsets.i32 has ${offsets.length} entries for ${terms.length} terms`;
  if (docs.length !== meta.postings || tfs.length !== meta.postings) return `postings files hold ${docs.length} docs / ${tfs.length} tfs, the manifest says ${meta.postings}`;
  if (offsets[0] !== 0 || offsets[terms.length] !== docs.length) return 'postings offsets do not span the postings';
  const tokens = new Float64Array(numDocs);
  for (let t = 0; t < terms.length; t++) {
    const lo = offsets[t]!;
    const hi = offsets[t + 1]!;
    if (hi <= lo) return `term ${t} has no postings or its offsets decrease`;
    let prev = -1;
    for (let j = lo; j < hi; j++) {
      const d = docs[j]!;
      if (d <= prev || d >= numDocs) return `term ${t} has doc ordinal ${d} out of order or out of range`;
      if (tfs[j]! < 1) return `term ${t} has term frequency ${tfs[j]}`;
      tokens[d]! += tfs[j]!;
      prev = d;
    }
  }
  let sum = 0;
  for (let d = 0; d < numDocs; d++) {
    if (tokens[d] !== lengths[d]) return `doc ${JSON.stringify(ids[d])} has length ${lengths[d]} but ${tokens[d]} postings tokens`;
    sum += lengths[d]!;
  }
  if (sum !== meta.sumTotalTermFreq) return `token total ${sum} differs from the manifest's ${meta.sumTotalTermFreq}`;
  return null;
}
