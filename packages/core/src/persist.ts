import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { IndexCorruptError, QuarryError } from './errors.js';

export const MANIFEST_FILE = 'manifest.json';

/** Written beside every saved index: what it is, which format version, and each file's checksum. */
export interface IndexManifest {
  format: string;
  version: number;
  createdAt: string;
  files: Record<string, { bytes: number; sha256: string }>;
  meta: Record<string, unknown>;
}

/** Writes `data` to `file` atomically: a temp file in the same folder, fsync, then rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/**
 * Saves an index folder atomically. `write` fills a fresh temporary folder; the
 * manifest (with sha256 of every file) is written last, then the folder is swapped
 * into place. A crash at any point leaves either the old index or the new one.
 */
export async function saveIndexDir(
  dir: string,
  format: { format: string; version: number; meta?: Record<string, unknown> },
  write: (tmpDir: string) => Promise<void>,
): Promise<IndexManifest> {
  const target = resolve(dir);
  await mkdir(dirname(target), { recursive: true });
  await recoverInterruptedSwap(target);
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmpDir = `${target}.tmp-${tag}`;
  await mkdir(tmpDir, { recursive: true });
  try {
    await write(tmpDir);
    const files: IndexManifest['files'] = {};
    for (const name of await listFiles(tmpDir)) {
      files[name] = await fileDigest(join(tmpDir, name));
      await fsyncFile(join(tmpDir, name));
    }
    const manifest: IndexManifest = { format: format.format, version: format.version, createdAt: new Date().toISOString(), files, meta: format.meta ?? {} };
    await writeFileAtomic(join(tmpDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    const old = `${target}.old-${tag}`;
    if (existsSync(target)) await rename(target, old);
    await rename(tmpDir, target);
    await rm(old, { recursive: true, force: true });
    return manifest;
  } catch (error) {
    await rm(tmpDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Reads and verifies an index folder's manifest: format name, a supported version,
 * and the size and sha256 of every listed file. Returns the manifest.
 */
export async function openIndexDir(dir: string, format: string, supportedVersions: readonly number[]): Promise<IndexManifest> {
  await recoverInterruptedSwap(resolve(dir));
  if (!existsSync(dir)) throw new QuarryError('NOT_FOUND', `${dir}: no such folder; build the ${format} index first (or check the path).`, { dir });
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new IndexCorruptError(`no ${MANIFEST_FILE}; is this a saved ${format} index?`, dir);
  let manifest: IndexManifest;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as IndexManifest;
  } catch (error) {
    throw new IndexCorruptError(`${MANIFEST_FILE} is not valid JSON (${(error as Error).message})`, dir);
  }
  if (manifest.format !== format) throw new IndexCorruptError(`holds a "${manifest.format}" index, not "${format}"`, dir);
  if (!supportedVersions.includes(manifest.version)) {
    throw new QuarryError('INDEX_VERSION', `${dir}: ${format} index format version ${manifest.version} is not supported (supported: ${supportedVersions.join(', ')}); rebuild the index.`, { dir });
  }
  for (const [name, expected] of Object.entries(manifest.files ?? {})) {
    const path = safeJoin(dir, name);
    if (!existsSync(path)) throw new IndexCorruptError(`file ${name} listed in the manifest is missing`, dir);
    const actual = await fileDigest(path);
    if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) {
      throw new IndexCorruptError(`checksum mismatch for ${name}; the index is damaged, rebuild it`, dir);
    }
  }
  return manifest;
}

/**
 * A save that crashed between moving the old index aside and moving the new one in
 * leaves only `<dir>.old-*`: put the newest complete one back so nothing is lost.
 */
async function recoverInterruptedSwap(target: string): Promise<void> {
  if (existsSync(target) || !existsSync(dirname(target))) return;
  const prefix = `${basename(target)}.old-`;
  const candidates = (await readdir(dirname(target))).filter((n) => n.startsWith(prefix) && existsSync(join(dirname(target), n, MANIFEST_FILE)));
  if (candidates.length === 0) return;
  const stats = await Promise.all(candidates.map(async (n) => ({ n, t: (await stat(join(dirname(target), n, MANIFEST_FILE))).mtimeMs })));
  stats.sort((a, b) => b.t - a.t);
  await rename(join(dirname(target), stats[0]!.n), target);
}

/** Joins a relative name under `root`, refusing any result outside it (`..`, absolute paths). */
export function safeJoin(root: string, name: string): string {
  const base = resolve(root);
  const full = resolve(base, name);
  if (full !== base && !full.startsWith(base + sep)) {
    throw new QuarryError('PATH_ESCAPE', `Path "${name}" escapes its folder ${base}; use a path inside it.`, { root: base, name });
  }
  return full;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Views a typed array's bytes without copying (for writing binary index files). */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Copies file bytes into a fresh, aligned typed array. */
export function readTyped<T extends Float32Array | Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array>(
  bytes: Uint8Array,
  ctor: { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
  where = 'binary index file',
): T {
  if (bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) throw new IndexCorruptError(`length ${bytes.byteLength} is not a multiple of ${ctor.BYTES_PER_ELEMENT} bytes`, where);
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return new ctor(copy);
}

/** Size and sha256 of a file, streamed so multi-GB index files never sit in memory. */
async function fileDigest(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return { bytes: (await stat(path)).size, sha256: hash.digest('hex') };
}

async function listFiles(root: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}


/**
 * Reads a binary file straight into a typed array of its size: one allocation, no
 * intermediate Buffer, so loading an index costs its file size in memory, not twice that.
 */
export function readTypedFile<T extends Float32Array | Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array>(
  file: string,
  ctor: { new (length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const fd = openSync(file, 'r');
  try {
    const bytes = fstatSync(fd).size;
    if (bytes % ctor.BYTES_PER_ELEMENT !== 0) throw new IndexCorruptError(`length ${bytes} is not a multiple of ${ctor.BYTES_PER_ELEMENT} bytes`, file);
    const out = new ctor(bytes / ctor.BYTES_PER_ELEMENT);
    const view = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    let read = 0;
    while (read < bytes) {
      const n = readSync(fd, view, read, bytes - read, read);
      if (n === 0) throw new IndexCorruptError(`ended after ${read} of ${bytes} bytes`, file);
      read += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
