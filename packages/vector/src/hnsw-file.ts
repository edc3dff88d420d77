import { open } from 'node:fs/promises';
import { IndexCorruptError } from '@quarry/core';
import { BYTE_ORDER } from './stored.js';

/**
 * The geometry of a graph file written by hnswlib's `saveIndex` (x86-64/arm64
 * layout: size_t = 8, int and tableint = 4):
 *
 *   header (96 bytes) | count x level-0 records (bytesPerElement each)
 *   | per element: uint32 byte length of its upper-layer links, then the links
 */
export interface HnswFileInfo {
  maxElements: number;
  count: number;
  bytesPerElement: number;
  labelOffset: number;
  dataOffset: number;
  maxM: number;
  maxM0: number;
  M: number;
  efConstruction: number;
}

const HEADER_BYTES = 96;

/**
 * Reads and fully checks a graph file's structure in JS, mirroring (and tightening)
 * the checks hnswlib's loader makes. This matters beyond error messages:
 * hnswlib-node 3.0.0's `readIndex` deletes the old native index before loading and
 * leaves a dangling pointer when the load throws, which later crashes the process
 * (double free). So a file must be known good before it reaches `readIndex`.
 */
export async function inspectHnswFile(file: string, dir: string): Promise<HnswFileInfo> {
  const handle = await open(file, 'r');
  try {
    const fileBytes = (await handle.stat()).size;
    const head = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES) throw new IndexCorruptError(`graph.hnsw is ${bytesRead} bytes, shorter than its ${HEADER_BYTES}-byte header`, dir);
    const size = (offset: number): number => {
      const v = BYTE_ORDER === 'LE' ? head.readBigUInt64LE(offset) : head.readBigUInt64BE(offset);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new IndexCorruptError(`graph.hnsw header field at byte ${offset} is out of range`, dir);
      return Number(v);
    };
    const int32 = (offset: number): number => (BYTE_ORDER === 'LE' ? head.readInt32LE(offset) : head.readInt32BE(offset));
    const info: HnswFileInfo = {
      maxElements: size(8),
      count: size(16),
      bytesPerElement: size(24),
      labelOffset: size(32),
      dataOffset: size(40),
      maxM: size(56),
      maxM0: size(64),
      M: size(72),
      efConstruction: size(88),
    };
    const maxLevel = int32(48);
    const entryPoint = int32(52) >>> 0;
    const dataEnd = HEADER_BYTES + info.count * info.bytesPerElement;
    if (info.count > info.maxElements || dataEnd > fileBytes) {
      throw new IndexCorruptError(`graph.hnsw header says ${info.count} elements of ${info.bytesPerElement} bytes, which do not fit its ${fileBytes} bytes`, dir);
    }
    // Upper-layer link lists: each element's byte length must be a whole number of layers.
    const tail = Buffer.alloc(fileBytes - dataEnd);
    if (tail.length > 0) await handle.read(tail, 0, tail.length, dataEnd);
    const layerBytes = info.maxM * 4 + 4;
    let pos = 0;
    let entryLevel = -1;
    for (let i = 0; i < info.count; i++) {
      if (pos + 4 > tail.length) throw new IndexCorruptError(`graph.hnsw ends inside the link lists (element ${i} of ${info.count})`, dir);
      const bytes = BYTE_ORDER === 'LE' ? tail.readUInt32LE(pos) : tail.readUInt32BE(pos);
      pos += 4;
      if (bytes % layerBytes !== 0) throw new IndexCorruptError(`graph.hnsw element ${i} has ${bytes} bytes of links, not a multiple of ${layerBytes}`, dir);
      if (i === entryPoint) entryLevel = bytes / layerBytes;
      pos += bytes;
      if (pos > tail.length) throw new IndexCorruptError(`graph.hnsw ends inside the links of element ${i}`, dir);
    }
    if (pos !== tail.length) throw new IndexCorruptError(`graph.hnsw has ${tail.length - pos} bytes after its last element`, dir);
    if (info.count > 0 && entryLevel !== maxLevel) throw new IndexCorruptError(`graph.hnsw entry point ${entryPoint} is not an element on the top layer ${maxLevel}`, dir);
    return info;
  } finally {
    await handle.close();
  }
}

/** Checks the file against what the manifest promises; throws IndexCorruptError naming the first disagreement. */
export function checkHnswFile(info: HnswFileInfo, expected: { dim: number; M: number; efConstruction: number; count: number; capacity: number }, dir: string): void {
  const checks: [string, number, number][] = [
    ['vector bytes', info.labelOffset - info.dataOffset, expected.dim * 4],
    ['element bytes', info.bytesPerElement, info.labelOffset + 8],
    ['level-0 links', info.dataOffset, info.maxM0 * 4 + 4],
    ['M', info.M, expected.M],
    ['maxM', info.maxM, expected.M],
    ['maxM0', info.maxM0, 2 * expected.M],
    ['efConstruction', info.efConstruction, expected.efConstruction],
    ['element count', info.count, expected.count],
    ['capacity', info.maxElements, expected.capacity],
  ];
  for (const [what, actual, wanted] of checks) {
    if (actual !== wanted) throw new IndexCorruptError(`graph.hnsw ${what} is ${actual} but the manifest implies ${wanted}`, dir);
  }
}
