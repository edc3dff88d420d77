import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDrtWeights } from '../src/index.js';

const base = new URL('../models/drt-passkey-base.json', import.meta.url).pathname;

// Issue #15 S5: a weights file that is not what saveDrtWeights writes is MODEL_INVALID, never a TypeError.

describe('DRT weights files', () => {
  it('null, a list, or missing config / weights fields are MODEL_INVALID', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-drt-w-'));
    for (const text of ['null', '[1]', '{"format":"quarry-drt-weights","version":1}', '{"format":"quarry-drt-weights","version":1,"config":{},"weights":7}']) {
      const file = join(dir, 'w.json');
      writeFileSync(file, text);
      expect(() => loadDrtWeights(file), text).toThrow(expect.objectContaining({ code: 'MODEL_INVALID' }));
    }
  });

  it('a file written before `lookback` existed (the stage-1 model) loads with lookback 0', () => {
    const model = loadDrtWeights(base);
    expect(model.config.lookback).toBe(0);
    expect(model.params.length).toBe(14760);
  });
});
