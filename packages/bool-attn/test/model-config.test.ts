import { writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveIndexDir } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { loadBoolModules } from '../src/index.js';

// Issue #15 S5: sizes in a Boolean model's manifest are checked against the saved weights
// before any array is sized by them.

describe('Boolean model folders', () => {
  it('a manifest claiming huge modules with no weights behind them is refused, not allocated', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'quarry-bool-cfg-')), 'm');
    await saveIndexDir(
      dir,
      { format: 'quarry-bool-attn', version: 1, meta: { config: { inputDim: 100_000, hidden: 100_000, temperature: 1 }, tensors: [], base: 'x', baseSha256: '', maxQueryLength: 8, parameters: 0 } },
      async (tmp) => {
        await writeFile(join(tmp, 'weights.f32'), new Uint8Array(0));
      },
    );
    await expect(loadBoolModules(dir)).rejects.toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringContaining('tensor P is missing from the saved weights') }));
  });
});
