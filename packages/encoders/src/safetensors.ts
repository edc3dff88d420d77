import { readFileSync } from 'node:fs';
import { ModelInvalidError } from './errors.js';
import { halfToFloat, floatToHalf } from './half.js';

/** Element types of the safetensors format that this reader understands. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The raw little-endian bytes (a copy, aligned). */
  bytes: Uint8Array;
}

const SIZES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/**
 * Reads every tensor of a `.safetensors` file (8-byte LE header length, JSON header, data).
 * Every header claim is checked against the bytes actually present before anything is
 * copied: shapes are non-negative integers, offsets lie inside the data section, and each
 * tensor's byte length equals its element count times its dtype size. A file can therefore
 * never make the reader (or a loader trusting `shape`) allocate more than its own size.
 */
export function readSafetensors(file: string, bytes: Uint8Array = readFileSync(file)): { tensors: Map<string, SafetensorsTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new ModelInvalidError(file, `is ${bytes.length} bytes; a safetensors file starts with an 8-byte header length.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8))
    throw new ModelInvalidError(file, `header length ${headerLength} runs past the end of the file (${bytes.length} bytes); the file is truncated or not safetensors.`);
  const base = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, base)));
  } catch (error) {
    throw new ModelInvalidError(file, `header is not valid JSON (${(error as Error).message}).`);
  }
  if (!isRecord(header)) throw new ModelInvalidError(file, 'header is not a JSON object of tensors; the file is not safetensors.');
  const dataBytes = bytes.length - base;
  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (value !== null && (!isRecord(value) || Object.values(value).some((v) => typeof v !== 'string'))) {
        throw new ModelInvalidError(file, 'header "__metadata__" must map names to strings.');
      }
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const bad = (what: string) => new ModelInvalidError(file, `tensor "${name}" ${what}; the file is damaged or not safetensors.`, { tensor: name });
    if (!isRecord(value)) throw bad('is not described by an object {dtype, shape, data_offsets}');
    const dtype = value['dtype'] as SafetensorsDtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(SIZES, dtype))
      throw new ModelInvalidError(file, `tensor "${name}" has dtype ${String(value['dtype'])}; expected one of ${Object.keys(SIZES).join(', ')}.`, { tensor: name });
    const shape = value['shape'] ?? [];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`);
    const offsets = value['data_offsets'] ?? [0, 0];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1] || offsets[1] > dataBytes) {
      throw bad(`has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 <= begin <= end <= ${dataBytes} (the data section's size)`);
    }
    const [begin, end] = offsets as [number, number];
    // Element count, stopping as soon as it exceeds what the bytes can hold (no overflow, no huge numbers).
    let count = (shape as number[]).includes(0) ? 0 : 1;
    for (const d of shape as number[]) {
      if (count === 0 || count * SIZES[dtype] > dataBytes) break;
      count *= d;
    }
    if (count * SIZES[dtype] !== end - begin) {
      throw bad(`(${dtype} [${(shape as number[]).join(', ')}]) has data offsets [${begin}, ${end}] (${end - begin} bytes), which do not match its shape`);
    }
    tensors.set(name, { name, dtype, shape: shape as number[], bytes: bytes.slice(base + begin, base + end) });
  }
  return { tensors, metadata };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Converts a tensor to Float32Array (F64/F32/F16/BF16/integers). */
export function tensorToFloat32(t: SafetensorsTensor): Float32Array {
  const b = t.bytes;
  const buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F64':
      return Float32Array.from(new Float64Array(buf));
    case 'F16': {
      const h = new Uint16Array(buf);
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]!);
      return out;
    }
    case 'BF16': {
      const h = new Uint16Array(buf);
      const u = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) u[i] = h[i]! << 16;
      return new Float32Array(u.buffer);
    }
    case 'I64':
      return Float32Array.from(new BigInt64Array(buf), (v) => Number(v));
    case 'I32':
      return Float32Array.from(new Int32Array(buf));
    case 'I16':
      return Float32Array.from(new Int16Array(buf));
    case 'I8':
      return Float32Array.from(new Int8Array(buf));
    default:
      return Float32Array.from(new Uint8Array(buf));
  }
}

/** Converts an integer tensor to Int32Array (I64 values must fit). */
export function tensorToInt32(t: SafetensorsTensor, file: string): Int32Array {
  const b = t.bytes;
  const buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  switch (t.dtype) {
    case 'I32':
      return new Int32Array(buf);
    case 'I64':
      return Int32Array.from(new BigInt64Array(buf), (v) => Number(v));
    case 'I16':
      return Int32Array.from(new Int16Array(buf));
    case 'I8':
      return Int32Array.from(new Int8Array(buf));
    case 'U8':
      return Int32Array.from(new Uint8Array(buf));
    default:
      throw new ModelInvalidError(file, `tensor "${t.name}" is ${t.dtype}; expected an integer tensor (I32 or I64).`);
  }
}

export type WritableTensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'F64'; shape: number[]; data: Float64Array }
  | { dtype: 'F16'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'I8'; shape: number[]; data: Int8Array };

/** Serialises tensors to safetensors bytes (names sorted, 8-byte aligned header). */
export function writeSafetensors(tensors: Record<string, WritableTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const chunks: Uint8Array[] = [];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header['__metadata__'] = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`tensor "${name}": shape [${t.shape.join(', ')}] holds ${count} values, data has ${t.data.length}`);
    let bytes: Uint8Array;
    if (t.dtype === 'F16') {
      const h = new Uint16Array(t.data.length);
      for (let i = 0; i < h.length; i++) h[i] = floatToHalf(t.data[i]!);
      bytes = new Uint8Array(h.buffer);
    } else {
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
