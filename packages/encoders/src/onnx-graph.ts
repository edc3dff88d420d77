import onnxPkg from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { safeJoin } from '@quarry/core';
import { ModelInvalidError } from './errors.js';

const { onnx } = onnxPkg;

/** ONNX TensorProto element types used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type AttributeValue = number | string | number[] | { floats: number[] } | { float: number };

type Dim = number | string;

/**
 * A small builder for ONNX graphs (opset 17 by default) on top of onnx-proto:
 * inputs/outputs with dynamic axes, initializers as raw little-endian data, nodes with
 * attributes. `build()` returns the serialised ModelProto.
 */
export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  #counter = 0;

  constructor(
    readonly name = 'quarry',
    readonly opset = 17,
  ) {}

  input(name: string, elemType: DataTypeCode, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: DataTypeCode, dims: readonly Dim[]): string {
    this.outputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Adds an initializer from a typed array (stored as rawData). */
  init(name: string, data: Float32Array | Int32Array | Int8Array | Uint8Array | BigInt64Array | Uint16Array, dims: readonly number[], dataType?: DataTypeCode): string {
    const type =
      dataType ??
      (data instanceof Float32Array
        ? DataType.FLOAT
        : data instanceof Int32Array
          ? DataType.INT32
          : data instanceof Int8Array
            ? DataType.INT8
            : data instanceof BigInt64Array
              ? DataType.INT64
              : data instanceof Uint16Array
                ? DataType.FLOAT16
                : DataType.UINT8);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    this.initializers.push(onnx.TensorProto.create({ name, dataType: type, dims: [...dims], rawData: raw }));
    return name;
  }

  /** A scalar or 1-D int64 constant (shapes, axes). */
  ints(values: readonly number[], name = this.fresh('const')): string {
    return this.init(name, BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
  }

  /** A float scalar constant (0-d). */
  scalar(value: number, name = this.fresh('const')): string {
    return this.init(name, Float32Array.of(value), []);
  }

  fresh(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  /** Adds a node; returns its first output's name. */
  node(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, outputs: readonly string[] = [this.fresh(opType.toLowerCase())]): string {
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: this.fresh(`${opType}_node`),
        input: [...inputs],
        output: [...outputs],
        attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outputs[0]!;
  }

  build(docString = ''): Uint8Array {
    const graph = onnx.GraphProto.create({
      name: this.name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: '@quarry/encoders',
      docString,
      opsetImport: [{ domain: '', version: this.opset }],
      graph,
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: DataTypeCode, dims: readonly Dim[]): OnnxTypes.IValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function attribute(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.FLOAT, f: value.float };
}

/** Decodes a serialised ModelProto. */
export function decodeModel(bytes: Uint8Array, file = 'model.onnx'): OnnxTypes.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new ModelInvalidError(file, `is not a valid ONNX model (${(error as Error).message}).`, {}, { cause: error });
  }
}

export function encodeModel(model: OnnxTypes.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Rewrites a model so that an intermediate value becomes a graph output (through an
 * Identity node, or a Cast when `elemType` is not FLOAT). Used to expose a hidden state
 * from exports that only output logits. `dims` describes the new output
 * (e.g. ['batch', 'sequence', 768]).
 */
export function exposeGraphOutput(bytes: Uint8Array, value: string, outputName: string, dims: readonly Dim[], elemType: DataTypeCode = DataType.FLOAT, file = 'model.onnx'): Uint8Array {
  const model = decodeModel(bytes, file);
  const graph = model.graph as OnnxTypes.GraphProto | null;
  if (!graph) throw new ModelInvalidError(file, 'has no graph.');
  const produced = new Set<string>();
  for (const n of graph.node) for (const o of n.output ?? []) produced.add(o);
  for (const i of graph.input) if (i.name) produced.add(i.name);
  if (!produced.has(value)) throw new ModelInvalidError(file, `has no value named "${value}" to expose as output "${outputName}".`, { value });
  if (graph.output.some((o) => o.name === outputName)) throw new ModelInvalidError(file, `already has an output named "${outputName}".`, { outputName });
  graph.node.push(
    elemType === DataType.FLOAT
      ? onnx.NodeProto.create({ opType: 'Identity', name: `expose_${outputName}`, input: [value], output: [outputName] })
      : onnx.NodeProto.create({ opType: 'Cast', name: `expose_${outputName}`, input: [value], output: [outputName], attribute: [attribute('to', elemType)] }),
  );
  graph.output.push(valueInfo(outputName, elemType, dims));
  return encodeModel(model);
}

/** The name of the (first) node output that consumes `inputName` among its inputs (e.g. a LayerNorm bias). */
export function findNodeOutputConsuming(bytes: Uint8Array, inputName: string, opType?: string): string | undefined {
  const graph = decodeModel(bytes).graph as OnnxTypes.GraphProto | null;
  const node = graph?.node.find((n) => (n.input ?? []).includes(inputName) && (opType === undefined || n.opType === opType));
  return node?.output?.[0] ?? undefined;
}

export interface InitializerTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** Float32 for FLOAT (and FLOAT16, converted by the caller), Int32 for INT32/INT64, Int8 for INT8. */
  raw: Uint8Array;
}

/** Bytes per element of the initializer types whose raw layout this reader checks. */
const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8 };

/**
 * The initializers of a model, by name (raw little-endian bytes); external data is read from
 * beside `file`. Dims and data are checked against each other (element count times element
 * size equals the bytes present), so a caller sizing arrays from `dims` stays within the file.
 */
export function readInitializers(bytes: Uint8Array, file = 'model.onnx'): Map<string, InitializerTensor> {
  const model = decodeModel(bytes, file);
  const out = new Map<string, InitializerTensor>();
  const graph = model.graph as OnnxTypes.GraphProto | null;
  const external = new Map<string, Uint8Array>();
  for (const t of (graph?.initializer ?? []) as OnnxTypes.TensorProto[]) {
    const dims = t.dims.map((d) => Number(d));
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new ModelInvalidError(file, `initializer "${t.name}" has dims [${dims.join(', ')}]; expected non-negative integers.`, { initializer: t.name });
    let raw: Uint8Array;
    let typedCount: number | undefined;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const info = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      const location = info['location'];
      if (!location) throw new ModelInvalidError(file, `initializer "${t.name}" is external but names no location.`);
      const path = safeJoin(dirname(file), location);
      if (!external.has(path)) {
        if (!existsSync(path)) throw new ModelInvalidError(path, `missing; initializer "${t.name}" of ${file} keeps its data there.`);
        external.set(path, new Uint8Array(readFileSync(path)));
      }
      const all = external.get(path)!;
      const offset = Number(info['offset'] ?? 0);
      const length = info['length'] !== undefined ? Number(info['length']) : all.length - offset;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > all.length) {
        throw new ModelInvalidError(path, `is ${all.length} bytes; initializer "${t.name}" needs bytes ${info['offset'] ?? 0}..+${info['length'] ?? '(rest)'}.`, { initializer: t.name });
      }
      raw = all.slice(offset, offset + length);
    } else if (t.rawData?.length) raw = t.rawData.slice();
    else if (t.floatData?.length) [raw, typedCount] = [new Uint8Array(Float32Array.from(t.floatData).buffer), t.floatData.length];
    else if (t.int32Data?.length) [raw, typedCount] = [new Uint8Array(Int32Array.from(t.int32Data).buffer), t.int32Data.length];
    else if (t.int64Data?.length) [raw, typedCount] = [new Uint8Array(BigInt64Array.from(t.int64Data.map((v) => BigInt(v.toString()))).buffer), t.int64Data.length];
    else raw = new Uint8Array(0);
    const size = typedCount === undefined ? ELEMENT_BYTES[t.dataType] : 1;
    if (size !== undefined) {
      const have = typedCount ?? raw.length;
      let count = dims.includes(0) ? 0 : 1;
      for (const d of dims) {
        if (count === 0 || count * size > have) break;
        count *= d;
      }
      if (count * size !== have) {
        throw new ModelInvalidError(file, `initializer "${t.name}" has dims [${dims.join(', ')}] but holds ${have} ${typedCount === undefined ? 'bytes' : 'values'}; the model is damaged.`, {
          initializer: t.name,
        });
      }
    }
    out.set(t.name, { name: t.name, dims, dataType: t.dataType, raw });
  }
  return out;
}

export function initializerFloat32(t: InitializerTensor): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new ModelInvalidError('model.onnx', `initializer "${t.name}" is type ${t.dataType}, expected FLOAT.`);
  return new Float32Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength));
}

/**
 * Moves initializers of at least `minBytes` into an external data file (ONNX external
 * data: location / offset / length), as large exports ship them. Returns the rewritten
 * model and the bytes to write beside it under `location`.
 */
export function toExternalData(bytes: Uint8Array, location = 'model.onnx_data', minBytes = 1024): { model: Uint8Array; data: Uint8Array } {
  const model = decodeModel(bytes);
  const graph = model.graph as OnnxTypes.GraphProto | null;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of (graph?.initializer ?? []) as OnnxTypes.TensorProto[]) {
    const raw = t.rawData;
    if (!raw || raw.length < minBytes) continue;
    const pad = (64 - (offset % 64)) % 64; // keep every tensor 64-byte aligned
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(raw);
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { model: encodeModel(model), data };
}
