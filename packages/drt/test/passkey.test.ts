import { describe, expect, it } from 'vitest';
import { bundledWeightsPath, DEFAULT_DRT_CONFIG, evaluatePasskey, loadDrtWeights, trainPasskeyModel } from '../src/index.js';

describe('shipped passkey DRT', () => {
  const model = loadDrtWeights(bundledWeightsPath());

  it('has the default config and loads intact', () => {
    expect(model.config).toEqual(DEFAULT_DRT_CONFIG);
  });

  it('trains and answers with lookback 8 by default', () => {
    expect(model.config.lookback).toBe(8);
  });

  // Pinned figures of models/drt-passkey.json in its default configuration (seeded trials; see
  // README "Results").
  it('finds the key at 4K and 16K tokens with GCA; the same weights without GCA do not', () => {
    const at4k = evaluatePasskey(model, { length: 4000, trials: 20, seed: 7 });
    const at16k = evaluatePasskey(model, { length: 16000, trials: 20, seed: 7 });
    const base = evaluatePasskey(model, { length: 16000, trials: 20, seed: 7, gca: false });
    expect([at4k.correct, at16k.correct, base.correct]).toEqual([20, 20, 0]);
  }, 600_000);

  it('with distractors at 16K tokens: unmarked decoys and filler digits (trained families), marked decoys (held out)', () => {
    const run = (task: 'decoys' | 'digits' | 'marked') => evaluatePasskey(model, { length: 16000, trials: 10, seed: 7, task });
    const [decoys, digits, marked] = [run('decoys'), run('digits'), run('marked')];
    expect([decoys.correct, digits.correct, marked.correct]).toEqual([10, 9, 10]);
    expect(digits.failures).toEqual([4]);
  }, 600_000);
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

  it('continues from given weights with `init` (a copy; the weights passed in stay as they were)', () => {
    const init = loadDrtWeights(new URL('../models/drt-passkey-base.json', import.meta.url).pathname);
    const before = init.params.slice();
    const options = { steps: 1, batch: 2, seed: 5, lr: 1e-4 };
    const tuned = trainPasskeyModel(options, { init }).model.params;
    expect(Buffer.from(init.params.buffer).equals(Buffer.from(before.buffer))).toBe(true);
    let moved = 0;
    let far = 0;
    for (let i = 0; i < tuned.length; i++) {
      const delta = Math.abs(tuned[i]! - before[i]!);
      if (delta > 0) moved++;
      if (delta > 1e-3) far++;
    }
    // One Adam step of size ~lr per weight: everything with a gradient moves, nothing moves far.
    expect(moved).toBeGreaterThan(1000);
    expect(far).toBe(0);
    expect(() => trainPasskeyModel(options, { init, config: { ...DEFAULT_DRT_CONFIG, dim: 16 } })).toThrow(/init weights hold 14760 values/);
  });

  it('rejects invalid options with the offending field named', () => {
    expect(() => trainPasskeyModel({ steps: 0 })).toThrow(/steps/);
    expect(() => trainPasskeyModel({ bogus: 1 } as never)).toThrow(/bogus|Unrecognized/);
  });
});
