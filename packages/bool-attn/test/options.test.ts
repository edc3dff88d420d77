import { describe, expect, it } from 'vitest';
import { BoolRetriever, boolPlugin, boolPluginSchema, buildBooleanBenchmark, loadBoolEncoder, trainBoolModules } from '../src/index.js';
import { configSuggestion as suggestion } from '../../../tools/testing/config-error.js';

describe('bool-attn options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion in every public entry point', async () => {
    expect(await suggestion(() => loadBoolEncoder(undefined, { allowOtherbase: true } as never))).toBe('allowOtherBase');
    const encoder = { dim: 2, encode: async () => ({ rows: 0, cols: 2, data: new Float32Array() }) };
    expect(await suggestion(() => BoolRetriever.fromDocs([], encoder, { batchsize: 8 } as never))).toBe('batchSize');
    expect(await suggestion(() => BoolRetriever.load('/no/such', encoder, { nmae: 'x' } as never))).toBe('name');
    expect(await suggestion(() => trainBoolModules({ benchmark: '/no', out: '/no', epoch: [1, 1] } as never))).toBe('epochs');
    expect(await suggestion(() => buildBooleanBenchmark({ dataset: '/no', out: '/no', dept: 3 } as never))).toBe('depth');
    expect(boolPlugin.schema).toBe(boolPluginSchema);
  });
});
