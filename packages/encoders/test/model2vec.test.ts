import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { loadEncoder, loadModel2Vec, readSafetensors, writeSafetensors, tensorToFloat32 } from '../src/index.js';
import { FIXTURES, tempDir } from './helpers.js';

const DIR = join(FIXTURES, 'model2vec-vocab-quantized');

/** An independent reading of the safetensors file: header JSON + little-endian data. */
function rawTensors(file: string): Record<string, { dtype: string; shape: number[]; view: DataView }> {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: Record<string, { dtype: string; shape: number[]; view: DataView }> = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    out[name] = { dtype: t.dtype, shape: t.shape, view: new DataView(buf.buffer, buf.byteOffset + 8 + n + t.data_offsets[0], t.data_offsets[1] - t.data_offsets[0]) };
  }
  return out;
}

describe('model2vec static model (vocab-quantised fixture from MinishLab/model2vec-rs)', () => {
  const t = rawTensors(join(DIR, 'model.safetensors'));
  const lib = new Tokenizer(JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8')), {});

  it('has the tensors the README describes', () => {
    expect(t['embeddings']).toMatchObject({ dtype: 'F32', shape: [128, 64] });
    expect(t['mapping']).toMatchObject({ dtype: 'I32', shape: [29524] });
    expect(t['weights']).toMatchObject({ dtype: 'F64', shape: [29524] });
  });

  it('follows the rule: normalize(mean_t embeddings[mapping[t]] * weights[t])', async () => {
    const enc = loadModel2Vec(DIR);
    expect(enc.dim).toBe(64);
    const texts = ['Exercise improves insulin sensitivity in older adults.', 'hello world', 'ΑΒΓ unknown-ish text 123'];
    const got = await enc.encode(texts, { role: 'document' });
    for (const [k, text] of texts.entries()) {
      const ids = lib.encode(text, { add_special_tokens: false }).ids.filter((id) => id !== 1); // [UNK] = 1 is dropped
      expect(ids.length).toBeGreaterThan(0);
      const v = new Float64Array(64);
      for (const id of ids) {
        const row = t['mapping']!.view.getInt32(id * 4, true);
        const w = t['weights']!.view.getFloat64(id * 8, true);
        for (let j = 0; j < 64; j++) v[j]! += t['embeddings']!.view.getFloat32((row * 64 + j) * 4, true) * w;
      }
      let norm = 0;
      for (let j = 0; j < 64; j++) norm += (v[j]! / ids.length) ** 2;
      norm = Math.sqrt(norm);
      for (let j = 0; j < 64; j++) expect(got.data[k * 64 + j]!).toBeCloseTo(v[j]! / ids.length / norm, 5);
    }
  });

  it('loadEncoder recognises a model2vec folder; Matryoshka-style prefixes re-normalise', async () => {
    const enc = await loadEncoder(DIR);
    const m = await enc.encode(['a short text'], { role: 'query', dim: 16 });
    expect(m.cols).toBe(16);
    let s = 0;
    for (const x of m.data) s += x * x;
    expect(s).toBeCloseTo(1, 5);
  });

  it('round-trips safetensors (F32, F16, I32, I8, F64)', () => {
    const bytes = writeSafetensors({
      a: { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, -2, 3.5, 0) },
      b: { dtype: 'F16', shape: [3], data: Float32Array.of(0.5, -1.25, 65504) },
      c: { dtype: 'I32', shape: [2], data: Int32Array.of(-7, 9) },
      d: { dtype: 'I8', shape: [2], data: Int8Array.of(-128, 127) },
      e: { dtype: 'F64', shape: [1], data: Float64Array.of(Math.PI) },
    });
    const dir = tempDir();
    const { tensors } = readSafetensors(join(dir, 'x.safetensors'), bytes);
    expect(Array.from(tensorToFloat32(tensors.get('a')!))).toEqual([1, -2, 3.5, 0]);
    expect(Array.from(tensorToFloat32(tensors.get('b')!))).toEqual([0.5, -1.25, 65504]);
    expect(Array.from(tensorToFloat32(tensors.get('c')!))).toEqual([-7, 9]);
    expect(Array.from(tensorToFloat32(tensors.get('d')!))).toEqual([-128, 127]);
    expect(tensorToFloat32(tensors.get('e')!)[0]).toBeCloseTo(Math.PI, 6);
    expect(() => readSafetensors('broken.safetensors', bytes.subarray(0, 40))).toThrow(/broken\.safetensors: .*(truncated|do not match)/);
  });
});
