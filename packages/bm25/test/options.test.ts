import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bm25Index, bm25OptionsSchema, bm25Plugin } from '../src/index.js';
import { configError } from '../../../tools/testing/config-error.js';

const DOCS = [
  { id: 'a', text: 'cats purr' },
  { id: 'b', text: 'dogs bark' },
];

describe('Bm25Index options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion in the constructor, build, load and addAll', async () => {
    expect((await configError(() => Bm25Index.build(DOCS, { fields: ['title'] } as never))).message).toBe(
      'Invalid Bm25Index.build options:\n  - fields: Unrecognized key: "fields" (valid keys: k1, b, analyzer, lossyNorms, signal, onProgress, total)',
    );
    expect((await configError(() => new Bm25Index({ bb: 0.5 } as never))).issues[0]).toMatchObject({ path: 'bb', suggestion: 'b' });
    expect((await configError(() => Bm25Index.build(DOCS, { lossyNorm: false } as never))).issues[0]).toMatchObject({ suggestion: 'lossyNorms' });
    const index = await Bm25Index.build(DOCS, { k1: 1.2, total: 2, onProgress: () => {} });
    expect((await configError(() => index.addAll([], { totl: 3 } as never))).issues[0]).toMatchObject({ suggestion: 'total' });
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-bm25-opt-')), 'idx');
    await index.save(dir);
    expect((await configError(() => Bm25Index.load(dir, { k: 1 } as never))).issues[0]).toMatchObject({ path: 'k', suggestion: 'k1' });
    expect((await Bm25Index.load(dir, { b: 0.5 })).b).toBe(0.5);
  });

  it('checks with the plugin schema itself', () => {
    expect(bm25Plugin.schema).toBe(bm25OptionsSchema);
    expect(Object.keys(bm25OptionsSchema.shape)).toEqual(['k1', 'b', 'analyzer', 'lossyNorms']);
  });
});
