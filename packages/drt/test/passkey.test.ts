import { describe, expect, it } from 'vitest';
import { bundledWeightsPath, DEFAULT_DRT_CONFIG, evaluatePasskey, loadDrtWeights, trainPasskeyModel } from '../src/index.js';

describe('shipped passkey DRT', () => {
  const model = loadDrtWeights(bundledWeightsPath());

  it('has the default config and loads intact', () => {
    expect(model.config).toEqual(DEFAULT_DRT_CONFIG);
  });

  // Pinned figures of models/drt-passkey.json (seeded trials; see README "Results").
  it('finds the key at 4K and 16K tokens with GCA; the same weights without GCA do not', () => {
    const at4k = evaluatePasskey(model, { length: 4000, trials: 20, seed: 7 });
    const at16k = evaluatePasskey(model, { length: 16000, trials: 20, seed: 7 });
    const base = evaluatePasskey(model, { length: 16000, trials: 20, seed: 7, gca: false });
    expect([at4k.correct, at16k.correct, base.correct]).toEqual([20, 20, 0]);
  });
});

describe('training', () => {
  it('is deterministic: the same options give the same weights bit for bit', () => {
    const options = { steps: 3, batch: 2, seed: 5 };
    const a = trainPasskeyModel(options).model.params;
    const b = trainPasskeyModel(options).model.params;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const c = trainPasskeyModel({ ...options, seed: 6 }).model.params;
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('rejects invalid options with the offending field named', () => {
    expect(() => trainPasskeyModel({ steps: 0 })).toThrow(/steps/);
    expect(() => trainPasskeyModel({ bogus: 1 } as never)).toThrow(/bogus|Unrecognized/);
  });
});
