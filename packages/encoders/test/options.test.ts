import { describe, expect, it } from 'vitest';
import { OnnxEncoder, OnnxTokenEncoder, TextTokenizer, bundledModelDir, loadEncoder, loadOwnModel, saveModel, trainEncoder } from '../src/index.js';
import { configIssue as issue } from '../../../tools/testing/config-error.js';
import { BERT_TOKENIZER } from './helpers.js';

describe('encoder options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion, checked against the quarry-encoder.json schema', async () => {
    const dir = bundledModelDir();
    expect(await issue(() => OnnxEncoder.load(dir, { normalise: false } as never))).toMatchObject({ path: 'normalise', suggestion: 'normalize' });
    expect(await issue(() => OnnxTokenEncoder.load(dir, { thread: 2 } as never))).toMatchObject({ suggestion: 'threads' });
    expect(await issue(() => loadEncoder(dir, { runtme: 'onnx' } as never))).toMatchObject({ suggestion: 'runtime' });
    expect(await issue(() => loadOwnModel(dir, { treads: 2 } as never))).toMatchObject({ suggestion: 'threads' });
    // Values go through the same schema as the config file: a wrong pooling is a ConfigError too.
    expect(await issue(() => OnnxEncoder.load(dir, { pooling: 'median' } as never))).toMatchObject({ path: 'pooling' });
    expect((await loadEncoder(dir, { threads: 1 })).dim).toBeGreaterThan(0);
    // Before any file is read: the data path does not even need to exist.
    expect(await issue(() => trainEncoder({ data: '/no/such.jsonl', epoch: 3 } as never))).toMatchObject({ path: 'epoch', suggestion: 'epochs' });
    // saveModel checks its options before exporting anything (no model needed), against quarry-encoder.json's field schemas.
    expect(await issue(() => saveModel('/no/such', undefined as never, { tokenizerDir: BERT_TOKENIZER, maxLenght: 64 } as never))).toMatchObject({ path: 'maxLenght', suggestion: 'maxLength' });
    expect(await issue(() => saveModel('/no/such', undefined as never, { tokenizerDir: BERT_TOKENIZER, overwite: true } as never))).toMatchObject({ suggestion: 'overwrite' });
    expect(await issue(() => saveModel('/no/such', undefined as never, { tokenizerDir: BERT_TOKENIZER, maxLength: -1 }))).toMatchObject({ path: 'maxLength' });
  });

  it('TextTokenizer: the constructor, fromDir and encode reject unknown options with a suggestion', async () => {
    expect(await issue(() => TextTokenizer.fromDir(BERT_TOKENIZER, { fats: false } as never))).toMatchObject({ path: 'fats', suggestion: 'fast' });
    // fromDir sets source itself.
    expect(await issue(() => TextTokenizer.fromDir(BERT_TOKENIZER, { source: 'x' } as never))).toMatchObject({ path: 'source' });
    expect(await issue(() => new TextTokenizer({ model: {} }, {}, { sourse: 'x.json' } as never))).toMatchObject({ suggestion: 'source' });
    const tok = TextTokenizer.fromDir(BERT_TOKENIZER);
    expect(await issue(() => tok.encode('cats purr', { maxLen: 4 } as never))).toMatchObject({ path: 'maxLen', suggestion: 'maxLength' });
    expect(await issue(() => tok.encodeBatch(['cats purr'], { addSpecialToken: false } as never))).toMatchObject({ suggestion: 'addSpecialTokens' });
    // The known keys (an explicit undefined included) pass.
    expect(Array.from(tok.encode('cats purr', { maxLength: undefined, addSpecialTokens: false }))).toEqual(Array.from(tok.encode('cats purr', { addSpecialTokens: false })));
  });
});
