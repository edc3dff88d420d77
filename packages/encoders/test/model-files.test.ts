import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, importOnnx, loadEncoder, loadModel2Vec, loadOwnModel, readInitializers, readSafetensors } from '../src/index.js';
import { FIXTURES, tempDir } from './helpers.js';

// Issue #15 S5: a model file's header or config must never size an allocation on its own say-so.

const MODEL_INVALID = expect.objectContaining({ code: 'MODEL_INVALID' });

/** A safetensors file from a hand-written header (padded to 8 bytes) and `data` bytes. */
function safetensors(header: unknown, data = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  let json = JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A model2vec folder (the fixture's tokenizer) whose model.safetensors is `bytes`. */
function model2vecFolder(bytes: Uint8Array): string {
  const dir = tempDir('quarry-st-');
  copyFileSync(join(FIXTURES, 'model2vec-vocab-quantized', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  writeFileSync(join(dir, 'model.safetensors'), bytes);
  return dir;
}

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function readBytes(bytes: Uint8Array): () => unknown {
  return () => readSafetensors('model.safetensors', bytes);
}

describe('safetensors headers are checked before anything is allocated', () => {
  it('a [rows, 0] embeddings tensor (a few hundred bytes claiming 300M rows) is MODEL_INVALID', () => {
    for (const rows of [300_000_000, 2 ** 33]) {
      const dir = model2vecFolder(safetensors({ embeddings: { dtype: 'F32', shape: [rows, 0], data_offsets: [0, 0] } }));
      const error = catchError(() => loadModel2Vec(dir));
      expect(error).toMatchObject({ code: 'MODEL_INVALID' });
      expect((error as Error).message).toMatch(/shape \[\d+, 0\]; expected at least one row and one dimension/);
    }
  });

  it('huge shapes that the data cannot hold are MODEL_INVALID (no RangeError)', () => {
    const data = new Uint8Array(16);
    for (const shape of [[1e15, 1e15], [2 ** 53 - 1], [4, 2 ** 40, 0, 3]]) {
      expect(readBytes(safetensors({ t: { dtype: 'F32', shape, data_offsets: [0, 16] } }, data))).toThrow(MODEL_INVALID);
    }
    const dir = model2vecFolder(safetensors({ embeddings: { dtype: 'F32', shape: [2 ** 31, 1024], data_offsets: [0, 16] } }, data));
    expect(() => loadModel2Vec(dir)).toThrow(MODEL_INVALID);
  });

  it('a JSON header larger than the file is MODEL_INVALID', () => {
    const file = safetensors({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
    for (const claim of [1_000_000n, 2n ** 63n, 2n ** 64n - 1n]) {
      const bytes = file.slice();
      new DataView(bytes.buffer).setBigUint64(0, claim, true);
      expect(readBytes(bytes)).toThrow(MODEL_INVALID);
      expect(readBytes(bytes)).toThrow(/runs past the end of the file/);
    }
    expect(readBytes(new Uint8Array(5))).toThrow(MODEL_INVALID);
  });

  it('dtype / byte-length mismatches and malformed offsets are MODEL_INVALID', () => {
    const data = new Uint8Array(64);
    const cases: unknown[] = [
      { t: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 8] } }, // 16 bytes needed
      { t: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } },
      { t: { dtype: 'F32', shape: [1], data_offsets: [0, 3] } }, // not a whole float
      { t: { dtype: 'F32', shape: [1], data_offsets: [60, 64 + 4] } }, // past the end
      { t: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, // end before begin
      { t: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } },
      { t: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } },
      { t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } },
      { t: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } },
      { t: { dtype: 'F32', shape: '4', data_offsets: [0, 16] } },
      { t: { dtype: 'F32', shape: [4], data_offsets: 'x' } },
      { t: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } },
      { t: null },
      { __metadata__: { a: 1 } },
      null,
      [1, 2],
    ];
    for (const header of cases) expect(readBytes(safetensors(header, data)), JSON.stringify(header)).toThrow(MODEL_INVALID);
  });

  it('well-formed files still read (including zero-element tensors)', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const { tensors } = readSafetensors(
      'x',
      safetensors({ __metadata__: { format: 'pt' }, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, e: { dtype: 'F32', shape: [0, 7], data_offsets: [16, 16] } }, data),
    );
    expect(tensors.get('a')!.shape).toEqual([2, 2]);
    expect(tensors.get('e')!.bytes.length).toBe(0);
  });
});

describe('ONNX initializers and model configs are checked against the data present', () => {
  it('initializer dims that the data cannot hold are MODEL_INVALID', () => {
    for (const dims of [[1_000_000_000], [2 ** 40, 2 ** 40], [-1], [3]]) {
      const g = new GraphBuilder();
      g.init('mapping', new Int32Array(4), dims);
      expect(() => readInitializers(g.build()), JSON.stringify(dims)).toThrow(MODEL_INVALID);
    }
  });

  it('importOnnx with a config claiming a huge vocabulary is MODEL_INVALID before allocating it', () => {
    const g = new GraphBuilder();
    g.init('mapping', new Int32Array(4), [200_000_000]);
    const run = () => importOnnx(g.build(), { type: 'static', dim: 8, rows: 4, vocabSize: 200_000_000, learnWeights: false });
    expect(run).toThrow(MODEL_INVALID);
    expect(run).toThrow(/initializer "mapping" has dims \[200000000\] but holds 16 bytes/);
  });

  it('absurd sizes in quarry-encoder.json are MODEL_INVALID', async () => {
    const bad = [
      { model: { type: 'static', dim: 1e9, rows: 10, vocabSize: 10, learnWeights: false } },
      { model: { type: 'static', dim: 8, rows: 2 ** 40, vocabSize: 10, learnWeights: false } },
      { model: { type: 'contextual', dim: 8, rows: 10, vocabSize: 10, learnWeights: false, hidden: 1e9, kernel: 3 } },
      { maxLength: 1e15 },
      { matryoshkaDims: [1e12] },
    ];
    for (const config of bad) {
      const dir = tempDir('quarry-cfg-');
      writeFileSync(join(dir, 'model.onnx'), new Uint8Array(0));
      copyFileSync(join(FIXTURES, 'model2vec-vocab-quantized', 'tokenizer.json'), join(dir, 'tokenizer.json'));
      writeFileSync(join(dir, 'quarry-encoder.json'), JSON.stringify(config));
      await expect(loadOwnModel(dir), JSON.stringify(config)).rejects.toThrow(MODEL_INVALID);
    }
    for (const text of ['null', '[1]', '{not json']) {
      const dir = tempDir('quarry-cfg-');
      writeFileSync(join(dir, 'model.onnx'), new Uint8Array(0));
      copyFileSync(join(FIXTURES, 'model2vec-vocab-quantized', 'tokenizer.json'), join(dir, 'tokenizer.json'));
      writeFileSync(join(dir, 'quarry-encoder.json'), text);
      await expect(loadEncoder(dir), text).rejects.toThrow(MODEL_INVALID);
    }
  });
});
