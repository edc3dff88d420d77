import type { ConfigError, Encoder, Matrix } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { DenseRetriever, FlatIndex, HnswIndex } from '../src/index.js';
import { configIssue as issue } from '../../../tools/testing/config-error.js';

const encoder: Encoder = { dim: 2, encode: async (texts: readonly string[]): Promise<Matrix> => ({ rows: texts.length, cols: 2, data: new Float32Array(texts.length * 2).fill(1) }) };

describe('vector options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion in every constructor and factory', async () => {
    expect(await issue(() => new FlatIndex({ dim: 2, metrik: 'ip' } as never))).toMatchObject({ path: 'metrik', suggestion: 'metric' });
    expect(await issue(() => new HnswIndex({ dim: 2, efconstruction: 400 } as never))).toMatchObject({ path: 'efconstruction', suggestion: 'efConstruction' });
    expect(await issue(() => new HnswIndex({ dim: 2, m: 8 } as never))).toMatchObject({ suggestion: 'M' });
    const index = new FlatIndex({ dim: 2 });
    expect(await issue(() => new DenseRetriever(encoder, index, { batchsize: 8 } as never))).toMatchObject({ suggestion: 'batchSize' });
    const error = await DenseRetriever.fromDocs([], encoder, index, { onProgres: () => {} } as never).catch((e: unknown) => e);
    expect((error as ConfigError).issues[0]).toMatchObject({ path: 'onProgres', suggestion: 'onProgress' });
    const retriever = await DenseRetriever.fromDocs([{ id: 'a', text: 'x' }], encoder, index, { name: 'd', batchSize: 4, onProgress: () => {} });
    await expect(retriever.addDocs([], { signl: undefined } as never)).rejects.toThrow(/Unrecognized key: "signl" \(did you mean "signal"\?\)/);
  });
});
