import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readColbertConfig } from '../src/index.js';

// Issue #15 S5: a ColBERT folder's settings size arrays (queries are padded to queryLength), so
// absurd values must be refused as MODEL_INVALID before any encoder is built.

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-colbert-cfg-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('ColBERT model configs (colbert.json, artifact.metadata, PyLate) are bounded', () => {
  it('absurd lengths and dims are MODEL_INVALID, naming the file', () => {
    const cases: Record<string, string>[] = [
      { 'colbert.json': JSON.stringify({ queryLength: 1e12 }) },
      { 'colbert.json': JSON.stringify({ documentLength: 2 ** 40 }) },
      { 'colbert.json': JSON.stringify({ matryoshkaDims: [1e12] }) },
      { 'artifact.metadata': JSON.stringify({ query_maxlen: 1e12 }) },
      { 'config_sentence_transformers.json': JSON.stringify({ document_length: 1e12 }) },
    ];
    for (const files of cases) {
      const [name] = Object.keys(files);
      expect(() => readColbertConfig(folder(files)), name).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringContaining(name!) }));
    }
  });

  it('files that are not JSON objects are MODEL_INVALID, not a TypeError', () => {
    for (const text of ['null', '[1]', '7', '{oops']) {
      for (const name of ['colbert.json', 'artifact.metadata']) {
        expect(() => readColbertConfig(folder({ [name]: text })), `${name}: ${text}`).toThrow(expect.objectContaining({ code: 'MODEL_INVALID' }));
      }
    }
  });

  it('real settings still read', () => {
    expect(readColbertConfig(folder({ 'artifact.metadata': JSON.stringify({ query_maxlen: 32, doc_maxlen: 8192 }) }))).toMatchObject({ queryLength: 32, documentLength: 8192 });
  });
});
