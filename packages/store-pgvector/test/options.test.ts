import type { Encoder, Matrix } from '@quarry/core';
import { describe, expect, inject, it } from 'vitest';
import { PgColbertRetriever, PgDenseRetriever, PgVectorStore } from '../src/index.js';
import { configSuggestion as suggestion } from '../../../tools/testing/config-error.js';

const url = inject('pgUrl');
const encoder: Encoder = { dim: 8, encode: async (texts: readonly string[]): Promise<Matrix> => ({ rows: texts.length, cols: 8, data: new Float32Array(texts.length * 8).fill(0.5) }) };

describe('store-pgvector options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion in the store, the retrievers and their loaders', async () => {
    // Checked before connecting: no server at this address is ever reached.
    expect(await suggestion(() => PgVectorStore.open({ url: 'postgres://q@127.0.0.1:1/db', dim: 8, tabel: 'x' } as never))).toBe('table');
    const store = await PgVectorStore.open({ url, dim: 8, poolSize: 1, table: 'options_test' });
    try {
      expect(await suggestion(() => new PgDenseRetriever(encoder, store, { efsearch: 10 } as never))).toBe('efSearch');
      expect(
        await suggestion(
          () =>
            new PgColbertRetriever(
              {
                dim: 8,
                encodeTokens: async () => {
                  throw new Error('unused');
                },
              } as never,
              store,
              { candidatesPertoken: 3 } as never,
            ),
        ),
      ).toBe('candidatesPerToken');
      const r = new PgDenseRetriever(encoder, store);
      expect(await suggestion(() => r.sync([], { colection: 'x' } as never))).toBe('collection');
      expect(await suggestion(() => r.addDocs([], { batchsize: 2 } as never))).toBe('batchSize');
      expect(await r.sync([{ id: 'a', text: 'x' }], { collection: 'c', batchSize: 2 })).toMatchObject({ loaded: 1 });
    } finally {
      await store.close();
    }
  });
});
