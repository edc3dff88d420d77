import { describe, expect, it } from 'vitest';
import { ColbertReranker, ColbertRetriever, MaxSimKernel, colbertIndexOptionsSchema, colbertRetrieverPlugin, colbertRetrieverPluginSchema, loadTokenEncoder, trainTokenModel } from '../src/index.js';
import { configIssue as issue } from '../../../tools/testing/config-error.js';

describe('colbert options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion in every constructor and factory', async () => {
    const { encoder, label } = await loadTokenEncoder(undefined);
    expect(await issue(() => ColbertRetriever.build([], encoder, { nbits: 2, model: label, nbit: 4 } as never))).toMatchObject({ path: 'nbit', suggestion: 'nbits' });
    // Values go through the plugin's own definitions: nbits 3 fails as in a pipeline file.
    expect((await issue(() => ColbertRetriever.build([], encoder, { nbits: 3, model: label } as never))).path).toBe('nbits');
    expect(await issue(() => new ColbertReranker(encoder, { cachesize: 10 } as never))).toMatchObject({ suggestion: 'cacheSize' });
    expect(await issue(() => new MaxSimKernel({ thread: 1 } as never))).toMatchObject({ suggestion: 'threads' });
    expect(await issue(() => trainTokenModel({ init: 'x', examples: [], steps: 1, lrdense: 1 } as never))).toMatchObject({ suggestion: 'lrDense' });
    expect(colbertRetrieverPlugin.schema).toBe(colbertRetrieverPluginSchema);
    expect(colbertIndexOptionsSchema.shape.centroids).toBe(colbertRetrieverPluginSchema.shape.centroids);
  });
});
