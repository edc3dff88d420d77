import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OnnxCausalLm } from '../src/index.js';

// Issue #15 S5: a model folder's config files that are not JSON objects are MODEL_INVALID, not a TypeError.

const FIXTURE = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'reference', 'gpt2-split');

describe('causal LM folder configs', () => {
  it('a tokenizer_config.json holding null or a list is MODEL_INVALID', async () => {
    for (const text of ['null', '[true]']) {
      const dir = join(mkdtempSync(join(tmpdir(), 'quarry-lm-cfg-')), 'lm');
      cpSync(FIXTURE, dir, { recursive: true });
      writeFileSync(join(dir, 'tokenizer_config.json'), text);
      await expect(OnnxCausalLm.load(dir, { threads: 1 }), text).rejects.toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringContaining('must hold a JSON object') }));
    }
  });
});
