import { describe, expect, it } from 'vitest';
import { TokenizerCodec, nearestTokens, ownEncoderTokenVectors } from '../src/index.js';
import { ToyCodec } from './toy.js';

describe("own-encoder token similarities (default scorer's question expansion)", () => {
  it('loads normalised token vectors of the bundled static encoder and finds neighbours above the threshold, best first', async () => {
    const codec = TokenizerCodec.fromDir();
    const tv = await ownEncoderTokenVectors(codec);
    expect(tv.vocabSize).toBe(codec.vocabSize);
    const [t] = codec.encode('vitamin');
    let norm = 0;
    for (let j = 0; j < tv.dim; j++) norm += tv.vectors[t! * tv.dim + j]! ** 2;
    expect(norm).toBeCloseTo(1, 4);
    const candidates = Int32Array.from({ length: codec.vocabSize }, (_, i) => i);
    const near = nearestTokens(tv, t!, candidates, 5, 0.3);
    expect(near.length).toBeGreaterThan(0);
    expect(near.length).toBeLessThanOrEqual(5);
    for (let i = 0; i < near.length; i++) {
      expect(near[i]!.token).not.toBe(t);
      expect(near[i]!.similarity).toBeGreaterThanOrEqual(0.3);
      if (i) expect(near[i - 1]!.similarity).toBeGreaterThanOrEqual(near[i]!.similarity);
    }
    expect(nearestTokens(tv, t!, candidates, 5, 1.01)).toEqual([]);
  });

  it('refuses an encoder whose tokenizer is not the index tokenizer', async () => {
    await expect(ownEncoderTokenVectors(new ToyCodec(30522))).rejects.toThrow(/another tokenizer/);
  });
});
