import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { OnnxEncoder, openModelFolder } from '../src/index.js';
import { FIXTURES, tempDir } from './helpers.js';

// Random-weight models in the sentence-transformers layout, exported to ONNX, with the outputs of
// sentence-transformers itself on the same folder (tools/reference/build_fixtures.py). Quarry loads
// each folder as it is (no quarry-encoder.json) and must match: ids exactly, vectors within 1e-5.
const MODELS = join(FIXTURES, 'reference', 'models');
const FP32_TOL = 1e-5;
// Dynamic int8 (activations quantised per batch): against onnxruntime-python on the same file, and
// against the fp32 sentence-transformers vectors (quantisation error of a random-weight model).
const INT8_SAME_RUNTIME_TOL = 1e-5;
const INT8_VS_FP32_MIN_COSINE = 0.999;

interface Reference {
  texts: string[];
  queries: string[];
  max_seq_length: number;
  ids: number[][];
  query_ids: number[][];
  embeddings: number[][];
  query_embeddings: number[][];
  document_embeddings: number[][];
  truncate_dim: number;
  truncated: number[][];
  pooling?: Record<string, number[][]>;
  /** Several modes at once ('cls+mean': the modes in order), concatenated. */
  pooling_concat?: Record<string, number[][]>;
  /** encode_query with include_prompt: false, per mode. */
  pooling_without_prompt?: Record<string, number[][]>;
  int8_embeddings?: number[][];
}

const read = (name: string): Reference => JSON.parse(readFileSync(join(MODELS, name, 'reference.json'), 'utf8')) as Reference;

function maxAbs(got: Float32Array, want: number[][], dim: number): number {
  let m = 0;
  want.forEach((row, i) => {
    expect(row.length).toBe(dim);
    row.forEach((v, j) => (m = Math.max(m, Math.abs(got[i * dim + j]! - v))));
  });
  return m;
}

const measured: Record<string, number> = {};
afterAll(() => {
  // The figures the README quotes (npx vitest run test/reference-models.test.ts).
  console.log('max abs error vs sentence-transformers:', JSON.stringify(measured, null, 1));
});

// `plain`: the document prefix that reproduces SentenceTransformer.encode() without a prompt name
// (the default prompt, or none), for the all-texts comparison.
const FIXTURE_TABLE: { name: string; pooling: string; plain?: string }[] = [
  { name: 'bert-cls', pooling: 'cls' },
  { name: 'bert-mean', pooling: 'mean', plain: '' },
  { name: 'bert-dense', pooling: 'mean', plain: 'classify: ' },
  { name: 'xlmr-unigram', pooling: 'mean' },
  { name: 'modernbert', pooling: 'mean', plain: '' },
];

describe.each(FIXTURE_TABLE)('sentence-transformers folder $name, loaded as it is', ({ name, pooling, plain }) => {
  const dir = join(MODELS, name);
  const ref = read(name);

  it('reads pooling, normalisation, length cap and prompts from the standard files, without guessing', async () => {
    const folder = await openModelFolder(dir);
    expect(folder.hasConfig).toBe(false);
    expect(folder.config.pooling).toBe(pooling);
    expect(folder.config.normalize).toBe(true);
    expect(folder.config.maxLength).toBe(ref.max_seq_length);
    expect(folder.warnings).toEqual([]);
  });

  it('token ids equal sentence-transformers exactly (prompts, truncation, special tokens)', async () => {
    const enc = await OnnxEncoder.load(dir, plain === undefined ? {} : { documentPrefix: plain });
    const { tokenizer, config } = enc.model;
    ref.texts.forEach((t, i) => expect(Array.from(tokenizer.encode(config.documentPrefix + t, { maxLength: config.maxLength }))).toEqual(ref.ids[i]));
    ref.queries.forEach((q, i) => expect(Array.from(tokenizer.encode(config.queryPrefix + q, { maxLength: config.maxLength }))).toEqual(ref.query_ids[i]));
    await enc.release();
  });

  it('embeddings, query/document prompts and Matryoshka truncate_dim match within 1e-5', async () => {
    const enc = await OnnxEncoder.load(dir);
    const dim = ref.embeddings[0]!.length;
    expect(enc.dim).toBe(dim);
    const queries = await enc.encode(ref.queries, { role: 'query' });
    const docs = await enc.encode(ref.texts.slice(0, 3), { role: 'document' });
    const errQ = maxAbs(queries.data, ref.query_embeddings, dim);
    const errD = maxAbs(docs.data, ref.document_embeddings, dim);
    const plainEnc = plain === undefined ? enc : await OnnxEncoder.load(dir, { documentPrefix: plain, batchSize: 4 });
    const all = await plainEnc.encode(ref.texts, { role: 'document' });
    const errAll = maxAbs(all.data, ref.embeddings, dim);
    const cut = await plainEnc.encode(ref.texts, { role: 'document', dim: ref.truncate_dim });
    const errCut = maxAbs(cut.data, ref.truncated, ref.truncate_dim);
    measured[name] = Math.max(errQ, errD, errAll, errCut);
    expect(errQ).toBeLessThan(FP32_TOL);
    expect(errD).toBeLessThan(FP32_TOL);
    expect(errAll).toBeLessThan(FP32_TOL);
    expect(errCut).toBeLessThan(FP32_TOL);
    if (plainEnc !== enc) await plainEnc.release();
    await enc.release();
  });

  /** Encodes with 1_Pooling/config.json rewritten (the rest of the folder as it is) and returns the max abs error against `want`. */
  async function withPooling(patch: Record<string, unknown>, role: 'query' | 'document', want: number[][], check: (enc: OnnxEncoder) => void): Promise<number> {
    const copy = join(tempDir(), name);
    cpSync(dir, copy, { recursive: true });
    const cfgFile = join(copy, '1_Pooling', 'config.json');
    const { pooling_mode: _, ...rest } = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgFile, JSON.stringify({ ...rest, ...patch }));
    const enc = await OnnxEncoder.load(copy, role === 'document' ? { documentPrefix: plain ?? '' } : {});
    check(enc);
    const texts = role === 'query' ? ref.queries : ref.texts;
    const got = await enc.encode(texts, { role });
    expect(enc.dim).toBe(want[0]!.length);
    const err = maxAbs(got.data, want, want[0]!.length);
    await enc.release();
    rmSync(copy, { recursive: true, force: true });
    return err;
  }

  if (ref.pooling) {
    it.each(Object.keys(ref.pooling))('Pooling mode %s (1_Pooling/config.json) matches sentence-transformers', async (mode) => {
      const err = await withPooling({ pooling_mode: mode }, 'document', ref.pooling![mode]!, (enc) => expect(enc.model.config.pooling).toBe(mode));
      measured[`${name}/${mode}`] = err;
      expect(err).toBeLessThan(FP32_TOL);
    });
  }

  if (ref.pooling_concat) {
    it.each(Object.keys(ref.pooling_concat))('several Pooling modes at once (%s) concatenate as sentence-transformers does', async (key) => {
      const modes = key.split('+');
      const err = await withPooling({ pooling_mode: modes }, 'document', ref.pooling_concat![key]!, (enc) => expect(enc.model.config.pooling).toEqual(modes));
      measured[`${name}/${key}`] = err;
      expect(err).toBeLessThan(FP32_TOL);
    });

    it('legacy pooling_mode_* booleans (sentence-transformers <= 5) concatenate in its order, not the file order', async () => {
      const legacy = { pooling_mode_mean_tokens: true, pooling_mode_cls_token: true, pooling_mode_max_tokens: false };
      const err = await withPooling(legacy, 'document', ref.pooling_concat!['cls+mean']!, (enc) => expect(enc.model.config.pooling).toEqual(['cls', 'mean']));
      expect(err).toBeLessThan(FP32_TOL);
    });
  }

  if (ref.pooling_without_prompt) {
    it.each(Object.keys(ref.pooling_without_prompt))('include_prompt: false leaves the query prompt out of %s pooling, as sentence-transformers does', async (mode) => {
      const err = await withPooling({ pooling_mode: mode, include_prompt: false }, 'query', ref.pooling_without_prompt![mode]!, (enc) => {
        expect(enc.model.config.includePrompt).toBe(false);
        expect(enc.model.promptTokens('query')).toBeGreaterThan(1);
      });
      measured[`${name}/${mode}-without-prompt`] = err;
      expect(err).toBeLessThan(FP32_TOL);
    });
  }

  if (ref.int8_embeddings) {
    it('int8 export (onnx/model_quantized.onnx): equals onnxruntime-python, close to fp32', async () => {
      const enc = await OnnxEncoder.load(dir, { quantized: true, documentPrefix: plain ?? '' });
      expect(enc.model.folder.modelFile).toMatch(/model_quantized\.onnx$/);
      const got = await enc.encode(ref.texts, { role: 'document' });
      const dim = ref.embeddings[0]!.length;
      const err = maxAbs(got.data, ref.int8_embeddings!, dim);
      let minCos = 1;
      ref.embeddings.forEach((row, i) => {
        let d = 0;
        row.forEach((v, j) => (d += v * got.data[i * dim + j]!));
        minCos = Math.min(minCos, d);
      });
      measured[`${name}/int8-vs-ort-python`] = err;
      measured[`${name}/int8-vs-fp32-min-cosine`] = minCos;
      expect(err).toBeLessThan(INT8_SAME_RUNTIME_TOL);
      expect(minCos).toBeGreaterThan(INT8_VS_FP32_MIN_COSINE);
      await enc.release();
    });
  }
});

describe('guessed settings are said once, naming the file to add', () => {
  it('a bare export (no modules.json, no length) warns about pooling and the length cap', async () => {
    const copy = join(tempDir(), 'bare');
    cpSync(join(MODELS, 'bert-cls'), copy, { recursive: true });
    for (const f of ['modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json']) rmSync(join(copy, f), { force: true });
    const tc = join(copy, 'tokenizer_config.json');
    const cfg = JSON.parse(readFileSync(tc, 'utf8')) as Record<string, unknown>;
    delete cfg['model_max_length'];
    writeFileSync(tc, JSON.stringify(cfg));
    const folder = await openModelFolder(copy);
    expect(folder.config.pooling).toBe('mean');
    expect(folder.config.maxLength).toBe(128);
    expect(folder.warnings!.length).toBe(2);
    expect(folder.warnings![0]).toMatch(/modules\.json/);
    expect(folder.warnings![1]).toMatch(/sentence_bert_config\.json/);
    // An explicit setting (quarry-encoder.json or an option) is not a guess.
    expect((await openModelFolder(copy, { pooling: 'cls', maxLength: 64 })).warnings).toEqual([]);
  });

  it('each guess is printed once per process (QUARRY_MODEL_GUESS), however often the folder is opened', async () => {
    const copy = join(tempDir(), 'bare-once');
    cpSync(join(MODELS, 'bert-mean'), copy, { recursive: true });
    rmSync(join(copy, 'modules.json'));
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    await openModelFolder(copy);
    await openModelFolder(copy);
    const calls = spy.mock.calls.filter((c) => String(c[0]).includes(copy));
    spy.mockRestore();
    expect(calls).toHaveLength(1);
    expect(calls[0]![1]).toMatchObject({ code: 'QUARRY_MODEL_GUESS' });
  });
});

describe('sentence_bert_config.json do_lower_case', () => {
  it('lowercases the prompt and text before tokenising, as sentence-transformers does', async () => {
    const copy = join(tempDir(), 'lower');
    cpSync(join(MODELS, 'bert-mean'), copy, { recursive: true }); // a cased WordPiece tokenizer
    writeFileSync(join(copy, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 20, do_lower_case: true }));
    const enc = await OnnxEncoder.load(copy, { documentPrefix: '' });
    expect(enc.model.config).toMatchObject({ lowercase: true, maxLength: 20 });
    const lower = await enc.encode(['paris is in france'], { role: 'document' });
    const upper = await enc.encode(['PARIS Is In FRANCE'], { role: 'document' });
    expect(Array.from(upper.data)).toEqual(Array.from(lower.data));
    await enc.release();
  });
});
