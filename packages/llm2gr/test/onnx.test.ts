import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Llm2grIndex, Llm2grRetriever, OnnxCausalLm } from '../src/index.js';
import { scifactDocs } from './scifact.js';

const FIXTURE = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'tiny-random-gpt2-onnx');

function logSumExp(a: Float32Array): number {
  let m = -Infinity;
  for (const v of a) m = Math.max(m, v);
  let s = 0;
  for (const v of a) s += Math.exp(v - m);
  return m + Math.log(s);
}

describe('OnnxCausalLm on the tiny random GPT-2 fixture (plumbing, not quality)', () => {
  let lm: OnnxCausalLm;
  let plain: OnnxCausalLm;
  beforeAll(async () => {
    lm = await OnnxCausalLm.load(FIXTURE, { foldOutOfVocab: true, threads: 1 });
    plain = await OnnxCausalLm.load(FIXTURE, { threads: 1 });
  });
  afterAll(async () => {
    await lm.close();
    await plain.close();
  });

  it('reads the vocabulary from the logits and returns normalised log-probabilities', async () => {
    expect(plain.modelVocabSize).toBe(1000);
    expect(plain.vocabSize).toBe(1000);
    expect(lm.vocabSize).toBe(50295); // GPT-2 BPE plus its added whitespace tokens
    const [lp] = await plain.nextTokenLogProbs([[5, 17, 300]]);
    expect(lp!.length).toBe(1000);
    expect(logSumExp(lp!)).toBeCloseTo(0, 4);
  });

  it('one cached step gives the same distribution as re-running the whole prefix, batched or not', async () => {
    const a = [10, 20, 30, 40];
    const b = [10, 20, 31, 41];
    const cold = await (await OnnxCausalLm.load(FIXTURE, { threads: 1, cacheEntries: 0 })).nextTokenLogProbs([
      [...a, 7],
      [...b, 8],
    ]);
    await plain.nextTokenLogProbs([a, b]); // caches both states
    const warm = await plain.nextTokenLogProbs([
      [...a, 7],
      [...b, 8],
    ]); // one batched step on the cache
    for (let i = 0; i < 2; i++) for (let t = 0; t < 1000; t += 37) expect(warm[i]![t]).toBeCloseTo(cold[i]![t]!, 4);
  });

  it('rejects ids outside the model vocabulary unless folding was asked for', async () => {
    await expect(plain.nextTokenLogProbs([[5, 4000]])).rejects.toThrow(/outside the model's vocabulary/);
    await expect(plain.nextTokenLogProbs([[]])).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    const [lp] = await lm.nextTokenLogProbs([[5, 4000]]);
    const [same] = await lm.nextTokenLogProbs([[5, 0]]);
    expect(lp![1234]).toBeCloseTo(same![234]!, 5);
    await expect(OnnxCausalLm.load(join(FIXTURE, 'nope'))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('drives LLM2GR end to end: generated titles exist, prefixes occur verbatim in their document', async () => {
    const docs = (await scifactDocs()).slice(0, 40);
    const index = Llm2grIndex.build(docs, lm);
    const r = new Llm2grRetriever(index, lm, { titleBeam: 4, passageBeam: 3, maxTitleTokens: 48 });
    const gen = await r.generate('Vitamin D deficiency is associated with tuberculosis.');
    expect(gen.titles.length).toBeGreaterThan(0);
    const titles = new Set(docs.map((d) => d.title));
    for (const t of gen.titles) expect(titles.has(t.title)).toBe(true);
    expect(gen.passages.length).toBeGreaterThan(0);
    for (const p of gen.passages) {
      const d = index.ids.indexOf(p.doc);
      const tokens = Array.from(index.fm.document(d));
      const prefix = index.fm.extract(d, p.offset, 16);
      expect(lm.encode(` ${docs[d]!.text}`).slice(p.offset, p.offset + 16)).toEqual(Array.from(prefix));
      expect(tokens.length).toBeGreaterThan(p.offset);
      expect(p.prefix.length).toBeGreaterThan(0);
      expect(docs[d]!.text).toContain(p.prefix.trim().slice(0, 20));
    }
  });
});
