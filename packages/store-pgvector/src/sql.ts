import { InputError } from '@quarry/core';

/**
 * Names this package puts into SQL text (schema and table prefix) can't be bind
 * parameters, so they must match this pattern (lower-case letters, digits, underscore;
 * a letter or underscore first; at most 40 characters so suffixed names stay under
 * Postgres's 63-byte limit) and are double-quoted as well. Every value goes through a
 * bind parameter or the binary COPY stream.
 */
export const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]{0,39}$/;

export function checkIdentifier(value: unknown, what: string): string {
  if (typeof value !== 'string' || !IDENTIFIER_PATTERN.test(value)) {
    throw new InputError(`${what} must match ${IDENTIFIER_PATTERN} (lower-case letters, digits and _, starting with a letter or _), got ${JSON.stringify(value)}.`, { [what]: value });
  }
  return value;
}

/** A checked identifier, double-quoted. */
export function quoteIdent(value: string): string {
  checkIdentifier(value, 'identifier');
  return `"${value}"`;
}

/** `"schema"."name"` from checked parts. */
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** An integer that DDL needs inline (vector dimension, HNSW m / ef_construction): checked, then printed. */
export function inlineInt(value: number, what: string, min: number, max: number): string {
  if (!Number.isInteger(value) || value < min || value > max) throw new InputError(`${what} must be an integer in ${min}..${max}, got ${String(value)}.`, { [what]: value });
  return String(value);
}

/**
 * pgvector's text form of a vector, for bind parameters: `[x1,x2,...]`. Every float32
 * prints as the double it widens to, which parses back to the same float32.
 */
export function vectorLiteral(v: Float32Array, offset = 0, dim = v.length - offset): string {
  let s = '[';
  for (let j = 0; j < dim; j++) {
    if (j > 0) s += ',';
    s += String(v[offset + j]!);
  }
  return `${s}]`;
}

/**
 * pgvector's binary form (int16 dim, int16 unused, float32 big-endian): what COPY BINARY
 * takes and `vector_send(v)` returns as bytea (which `pg` hands over as a Buffer). Reading
 * vectors this way is exact and avoids parsing decimal text.
 */
export function decodeVectorBinary(buf: Buffer, out: Float32Array, offset: number, dim: number): void {
  const n = buf.readInt16BE(0);
  if (n !== dim) throw new InputError(`Postgres returned a vector of dimension ${n}; the store is ${dim}-dimensional.`);
  for (let j = 0; j < dim; j++) out[offset + j] = buf.readFloatBE(4 + 4 * j);
}

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Builds a `COPY ... FROM STDIN (FORMAT binary)` payload in one buffer: header, one tuple
 * per row with the given fields, trailer. Field writers append bytes; null = SQL NULL.
 */
export class CopyBinaryWriter {
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor() {
    const header = Buffer.alloc(COPY_SIGNATURE.length + 8);
    COPY_SIGNATURE.copy(header, 0);
    this.#push(header);
  }

  /** Starts a tuple of `fields` columns. */
  row(fields: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(fields, 0);
    this.#push(b);
    return this;
  }

  text(value: string): this {
    const body = Buffer.from(value, 'utf8');
    return this.#field(body);
  }

  int4(value: number): this {
    const body = Buffer.alloc(4);
    body.writeInt32BE(value, 0);
    return this.#field(body);
  }

  null(): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(-1, 0);
    this.#push(b);
    return this;
  }

  /** A pgvector value from `dim` floats of `data` at `offset`, each multiplied by `scale`. */
  vector(data: Float32Array, offset: number, dim: number, scale = 1): this {
    const body = Buffer.alloc(4 + 4 * dim);
    body.writeInt16BE(dim, 0);
    body.writeInt16BE(0, 2);
    for (let j = 0; j < dim; j++) body.writeFloatBE(Math.fround(data[offset + j]! * scale), 4 + 4 * j);
    return this.#field(body);
  }

  /** A jsonb value (binary format: version byte 1, then the JSON text). */
  jsonb(value: unknown): this {
    const json = Buffer.from(JSON.stringify(value ?? {}), 'utf8');
    const body = Buffer.alloc(1 + json.length);
    body[0] = 1;
    json.copy(body, 1);
    return this.#field(body);
  }

  /** Header, tuples and trailer in one buffer (the writer is spent afterwards). */
  finish(): Buffer {
    const trailer = Buffer.alloc(2);
    trailer.writeInt16BE(-1, 0);
    this.#push(trailer);
    return Buffer.concat(this.#chunks, this.#size);
  }

  get size(): number {
    return this.#size;
  }

  #field(body: Buffer): this {
    const len = Buffer.alloc(4);
    len.writeInt32BE(body.length, 0);
    this.#push(len);
    this.#push(body);
    return this;
  }

  #push(b: Buffer): void {
    this.#chunks.push(b);
    this.#size += b.length;
  }
}
