import { DimensionMismatchError, DuplicateIdError, InputError, QuarryError } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { FlatIndex, HnswIndex, type VectorIndex } from '../src/index.js';

const makers: [string, (metric: 'ip' | 'cosine') => VectorIndex][] = [
  ['FlatIndex', (metric) => new FlatIndex({ dim: 3, metric })],
  ['HnswIndex', (metric) => new HnswIndex({ dim: 3, metric, capacity: 8 })],
];

function caught(fn: () => unknown): QuarryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(QuarryError);
    return error as QuarryError;
  }
  throw new Error('expected a throw');
}

const v = (...xs: number[]) => new Float32Array(xs);

describe.each(makers)('%s typed errors', (_, make) => {
  it('dimension mismatch on add (Matrix and row arrays) and on search', () => {
    const index = make('cosine');
    const e = caught(() => index.add(['a'], { rows: 1, cols: 4, data: new Float32Array(4).fill(1) }));
    expect(e).toBeInstanceOf(DimensionMismatchError);
    expect(e.details).toEqual({ expected: 3, actual: 4 });
    expect(() => index.add(['a', 'b'], [v(1, 2, 3), v(1, 2)])).toThrow(DimensionMismatchError);
    index.add(['a'], [v(1, 2, 3)]);
    expect(() => index.search(v(1, 2))).toThrow(DimensionMismatchError);
    expect(() => index.searchBatch({ rows: 1, cols: 2, data: v(1, 2) })).toThrow(DimensionMismatchError);
  });

  it('NaN and Infinity components name the row and id', () => {
    const index = make('ip');
    const e = caught(() => index.add(['a', 'b'], [v(1, 2, 3), v(1, Number.NaN, 3)]));
    expect(e).toBeInstanceOf(InputError);
    expect(e.code).toBe('INPUT_INVALID');
    expect(e.message).toMatch(/vector 1 \(id "b"\).*component 1/);
    expect(e.details).toMatchObject({ row: 1, id: 'b', component: 1 });
    expect(() => index.add(['c'], [v(Infinity, 0, 0)])).toThrow(/non-finite/);
    expect(() => index.search(v(0, -Infinity, 0))).toThrow(InputError);
    expect(() => index.searchBatch({ rows: 2, cols: 3, data: v(1, 1, 1, 1, Number.NaN, 1) })).toThrow(/query vector 1/);
    expect(index.size).toBe(0); // all-or-nothing: row 0 of the failed batch was not stored
  });

  it('duplicate ids, in the batch or already indexed, change nothing', () => {
    const index = make('cosine');
    expect(() => index.add(['a', 'a'], [v(1, 0, 0), v(0, 1, 0)])).toThrow(DuplicateIdError);
    expect(index.size).toBe(0);
    index.add(['a'], [v(1, 0, 0)]);
    const e = caught(() => index.add(['b', 'a'], [v(0, 1, 0), v(0, 0, 1)]));
    expect(e).toBeInstanceOf(DuplicateIdError);
    expect(e.code).toBe('DUPLICATE_ID');
    expect(index.size).toBe(1);
    expect(index.has('b')).toBe(false);
  });

  it('ids and rows must pair up, and ids must be strings', () => {
    const index = make('cosine');
    expect(() => index.add(['a'], [v(1, 0, 0), v(0, 1, 0)])).toThrow(/2 vectors/);
    expect(() => index.add([1 as unknown as string], [v(1, 0, 0)])).toThrow(InputError);
    expect(() => index.add(['a'], { rows: 2, cols: 3, data: v(1, 0, 0) })).toThrow(/needs 6/);
  });

  it('unknown id on delete returns false', () => {
    expect(make('cosine').delete('missing')).toBe(false);
  });

  it('k must be a positive integer', () => {
    const index = make('cosine');
    index.add(['a'], [v(1, 0, 0)]);
    for (const k of [0, -1, 1.5, Number.NaN, Infinity]) {
      const e = caught(() => index.search(v(1, 0, 0), { k }));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toMatch(/k must be a positive integer/);
      expect(() => index.searchBatch({ rows: 1, cols: 3, data: v(1, 0, 0) }, { k })).toThrow(InputError);
    }
    expect(() => index.search(v(1, 0, 0), { filter: 'x' as unknown as () => boolean })).toThrow(/filter/);
  });

  it('a zero vector is rejected under cosine (add and query) but fine under ip', () => {
    const cos = make('cosine');
    const e = caught(() => cos.add(['z'], [v(0, 0, 0)]));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/vector 0 \(id "z"\) is all zeros/);
    cos.add(['a'], [v(1, 0, 0)]);
    expect(() => cos.search(v(0, 0, 0))).toThrow(/all zeros/);
    const ip = make('ip');
    ip.add(['z', 'a'], [v(0, 0, 0), v(1, 0, 0)]);
    expect(ip.search(v(0, 0, 0), { k: 2 }).map((h) => h.score)).toEqual([0, 0]);
  });

  it("does not modify the caller's vectors when normalising", () => {
    const index = make('cosine');
    const input = v(3, 4, 0);
    index.add(['a'], [input]);
    expect(input).toEqual(v(3, 4, 0));
    const q = v(0, 5, 0);
    expect(index.search(q)[0]!.score).toBeCloseTo(0.8, 6);
    expect(q).toEqual(v(0, 5, 0));
    expect(index.getVector('a')).toEqual(v(0.6, 0.8, 0));
  });
});

describe('constructor options', () => {
  it('reject bad dimensions, metrics and HNSW parameters', () => {
    expect(() => new FlatIndex({ dim: 0 })).toThrow(/dim must be a positive integer/);
    expect(() => new FlatIndex({ dim: 2.5 })).toThrow(InputError);
    expect(() => new FlatIndex({ dim: 4, metric: 'l2' as 'ip' })).toThrow(/metric/);
    expect(() => new HnswIndex({ dim: 4, M: 1 })).toThrow(/M must be between/);
    expect(() => new HnswIndex({ dim: 4, efConstruction: 0 })).toThrow(/efConstruction/);
    expect(() => new HnswIndex({ dim: 4, ef: -3 })).toThrow(/ef/);
    expect(() => new HnswIndex({ dim: 4, seed: -1 })).toThrow(/seed/);
    expect(() => new HnswIndex({ dim: 4, capacity: 0 })).toThrow(/capacity/);
    expect(() => new HnswIndex({ dim: 4 }).setEf(0)).toThrow(InputError);
  });
});
