import { describe, expect, it } from 'vitest';
import { ChunkMemory, DEFAULT_DRT_CONFIG, DrtModel, answer, bundledWeightsPath, evaluatePasskey, loadDrtWeights, trainPasskeyModel } from '../src/index.js';
import { configSuggestion as suggestion } from '../../../tools/testing/config-error.js';

describe('drt options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion in every public entry point', async () => {
    expect(await suggestion(() => trainPasskeyModel({ step: 5 } as never))).toBe('steps');
    expect(await suggestion(() => new DrtModel({ ...DEFAULT_DRT_CONFIG, topk: 2 } as never))).toBe('topK');
    expect(await suggestion(() => new ChunkMemory({ chunkFloats: 4, landmarkFloats: 2, pagedir: '/tmp' } as never))).toBe('pageDir');
    const model = loadDrtWeights(bundledWeightsPath());
    expect(await suggestion(() => answer(model, new Uint8Array([1, 2, 3]), { lookbak: 2 } as never))).toBe('lookback');
    expect(await suggestion(() => evaluatePasskey(model, { length: 64, trials: 1, trial: 1 } as never))).toBe('trials');
  });
});
