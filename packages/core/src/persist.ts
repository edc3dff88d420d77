import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { IndexCorruptError, OutputDirError, QuarryError } from './errors.js';

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
  await fsyncDir(dirname(file));
}

export interface SaveIndexOptions {
  /**
   * Replace whatever `dir` holds, even files that are not a Quarry index. Off by default:
   * a save only replaces a missing path, an empty folder or a folder Quarry wrote.
   */
  overwrite?: boolean;
}

/**
 * Throws `OutputDirError` (and touches nothing) unless `dir` is a missing path, an empty
 * folder, or a Quarry index folder: a `manifest.json` of saveIndexDir's shape and no file
 * that manifest does not list. Every index and model writer goes through here (via
 * `saveIndexDir`); call it directly to fail before long work rather than after it.
 */
export async function assertWritableIndexDir(dir: string, options: SaveIndexOptions = {}): Promise<void> {
  if (options.overwrite) return;
  const target = resolve(dir);
  const info = await lstat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) return;
  if (info.isSymbolicLink()) throw new OutputDirError(target, 'it is a symbolic link; give the real folder path.');
  if (!info.isDirectory()) throw new OutputDirError(target, 'it is a file, not a folder; choose a new or empty folder for the index.');
  const entries = await readdir(target);
  if (entries.length === 0) return;
  const foreign = (detail: string) => new OutputDirError(target, `it is not empty and not a Quarry index (${detail}); choose a new or empty folder, or move those files away first.`);
  if (!entries.includes(MANIFEST_FILE)) throw foreign(`no ${MANIFEST_FILE}; it holds ${sample(entries.sort())}`);
  const manifest = await readManifest(join(target, MANIFEST_FILE));
  if (!manifest) throw foreign(`its ${MANIFEST_FILE} is not a Quarry index manifest`);
  const { files, links } = await listTree(target);
  const unlisted = files.filter((name) => name !== MANIFEST_FILE && !Object.hasOwn(manifest.files, name));
  if (links.length) throw foreign(`it holds symbolic links: ${sample(links)}`);
  if (unlisted.length) throw foreign(`it holds files its manifest does not list: ${sample(unlisted)}`);
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
  options: SaveIndexOptions = {},
): Promise<IndexManifest> {
  const target = resolve(dir);
  await assertWritableIndexDir(target, options);
  await mkdir(dirname(target), { recursive: true });
  await recoverInterruptedSwap(target);
  await removeStaleTemps(target);
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmpDir = `${target}.tmp-${tag}`;
  await mkdir(tmpDir);
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
    // The renames live in the parent folder's entries: sync it so they survive a power cut.
    await fsyncDir(dirname(target));
    await rm(old, { recursive: true, force: true });
    return manifest;
  } catch (error) {
    await rm(tmpDir, { recursive: true, force: true });
    throw error;
  }
}

export interface OpenIndexOptions {
  /** Files the loader reads: each must be listed in the manifest (so its checksum was verified). */
  required?: readonly string[];
}

/**
 * Reads and verifies an index folder's manifest: format name, a supported version,
 * the size and sha256 of every listed file, every `required` file listed, and nothing
 * else in the folder (no unlisted file, no symbolic link), so whatever a loader reads
 * from it was checked. Returns the manifest.
 */
export async function openIndexDir(dir: string, format: string, supportedVersions: readonly number[], options: OpenIndexOptions = {}): Promise<IndexManifest> {
  await recoverInterruptedSwap(resolve(dir));
  if (!existsSync(dir)) throw new QuarryError('NOT_FOUND', `${dir}: no such folder; build the ${format} index first (or check the path).`, { dir });
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new IndexCorruptError(`no ${MANIFEST_FILE}; is this a saved ${format} index?`, dir);
  // Links are refused before anything is read through them.
  const { files: onDisk, links } = await listTree(dir);
  if (links.length) throw new IndexCorruptError(`holds symbolic links (${sample(links)}); an index folder must hold plain files, copy them in instead of linking`, dir);
  let manifest: IndexManifest;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as IndexManifest;
  } catch (error) {
    throw new IndexCorruptError(`${MANIFEST_FILE} is not valid JSON (${(error as Error).message})`, dir);
  }
  if (!isManifest(manifest)) throw new IndexCorruptError(`${MANIFEST_FILE} lacks "format", "version" or "files"; rebuild the index`, dir);
  if (manifest.format !== format) throw new IndexCorruptError(`holds a "${manifest.format}" index, not "${format}"`, dir);
  if (!supportedVersions.includes(manifest.version)) {
    throw new QuarryError('INDEX_VERSION', `${dir}: ${format} index format version ${manifest.version} is not supported (supported: ${supportedVersions.join(', ')}); rebuild the index.`, { dir });
  }
  const missing = (options.required ?? []).filter((name) => !Object.hasOwn(manifest.files, name));
  if (missing.length) throw new IndexCorruptError(`${MANIFEST_FILE} does not list the required file(s) ${sample(missing)}; the index is damaged, rebuild it`, dir);
  const unlisted = onDisk.filter((name) => name !== MANIFEST_FILE && !Object.hasOwn(manifest.files, name));
  if (unlisted.length) throw new IndexCorruptError(`holds file(s) its ${MANIFEST_FILE} does not list (${sample(unlisted)}); they are not checksummed, so remove them or rebuild the index`, dir);
  for (const [name, expected] of Object.entries(manifest.files)) {
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

/** Every entry under `root` (not following links): plain files, and links or other non-folders. */
async function listTree(root: string, sub = '', out = { files: [] as string[], links: [] as string[] }): Promise<{ files: string[]; links: string[] }> {
  for (const entry of await readdir(join(root, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await listTree(root, rel, out);
    else if (entry.isFile()) out.files.push(rel);
    else out.links.push(rel);
  }
  return out;
}

function isManifest(value: unknown): value is IndexManifest {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<IndexManifest>;
  return typeof m.format === 'string' && typeof m.version === 'number' && typeof m.files === 'object' && m.files !== null && !Array.isArray(m.files);
}

async function readManifest(file: string): Promise<IndexManifest | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    return isManifest(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The first few names, for a message. */
function sample(names: readonly string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/**
 * A killed save leaves `<target>.tmp-<pid>.<hex>` (and, rarely, `.old-`) beside the target.
 * Remove those of this naming scheme whose process is gone; never anything else.
 */
async function removeStaleTemps(target: string): Promise<void> {
  const parent = dirname(target);
  const prefix = basename(target);
  // Best effort: an unreadable parent or a folder another process removes first is no reason to fail a save.
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^\.(tmp|old)-(\d+)\.[0-9a-f]{8}$/.exec(name.slice(prefix.length));
    if (!m || processAlive(Number(m[2]))) continue;
    const path = join(parent, name);
    const info = await lstat(path).catch(() => undefined);
    if (info?.isDirectory()) await rm(path, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: alive, another user's
  }
}

/** fsyncs a folder so renames in it are durable; platforms that cannot (Windows) skip it. */
async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'EACCES'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle?.close();
  }
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
