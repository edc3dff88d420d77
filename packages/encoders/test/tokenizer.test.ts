import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCorpus, readQueries } from '@quarry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelInvalidError, TextTokenizer } from '../src/index.js';
import { BERT_TOKENIZER, FIXTURES, SCIFACT, tempDir } from './helpers.js';

const vocab = readFileSync(join(FIXTURES, 'bert-vocab.txt'), 'utf8').split('\n');
const tok = TextTokenizer.fromDir(BERT_TOKENIZER);
const lib = TextTokenizer.fromDir(BERT_TOKENIZER, { fast: false });

describe('TextTokenizer on the real bert-base-uncased tokenizer.json', () => {
  it('knows the special ids', () => {
    expect(tok.vocabSize).toBe(30522);
    expect(tok.prefixIds).toEqual([101]);
    expect(tok.suffixIds).toEqual([102]);
    expect(tok.padId).toBe(0);
    expect(tok.unkId).toBe(100);
    expect(tok.tokenToId('the')).toBe(1996);
    // vocab.txt is the vocabulary in id order: line (id + 1) holds the token.
    for (const [id, token] of [
      [0, '[PAD]'],
      [100, '[UNK]'],
      [101, '[CLS]'],
      [102, '[SEP]'],
      [1996, 'the'],
    ] as const)
      expect(vocab[id]).toBe(token);
  });

  // Expected ids written out by hand; each is checked against vocab.txt below.
  const cases: [string, string[], number[]][] = [
    [
      'The quick brown fox jumps over the lazy dog.',
      ['[CLS]', 'the', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', '.', '[SEP]'],
      [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102],
    ],
    ['Hello, world!', ['[CLS]', 'hello', ',', 'world', '!', '[SEP]'], [101, 7592, 1010, 2088, 999, 102]],
    // WordPiece: greedy longest match, continuation pieces carry "##".
    ['unaffable', ['[CLS]', 'una', '##ffa', '##ble', '[SEP]'], [101, 14477, 20961, 3468, 102]],
    // BertNormalizer lowercases and strips accents (NFD, drop combining marks).
    ['Résumé of a naïve café', ['[CLS]', 'resume', 'of', 'a', 'naive', 'cafe', '[SEP]'], [101, 13746, 1997, 1037, 15743, 7668, 102]],
    // A character with no piece in the vocabulary becomes [UNK].
    ['snowman ☃ here', ['[CLS]', 'snow', '##man', '[UNK]', 'here', '[SEP]'], [101, 4586, 2386, 100, 2182, 102]],
    // Punctuation is split off; digits are ordinary word characters.
    [
      'Aspirin reduces 5-HT levels by 50%.',
      ['[CLS]', 'as', '##pi', '##rin', 'reduces', '5', '-', 'h', '##t', 'levels', 'by', '50', '%', '.', '[SEP]'],
      [101, 2004, 8197, 6657, 13416, 1019, 1011, 1044, 2102, 3798, 2011, 2753, 1003, 1012, 102],
    ],
  ];

  it.each(cases)('encodes %j to ids justified by vocab.txt', (text, tokens, ids) => {
    expect(tokens.map((t) => vocab.indexOf(t))).toEqual(ids);
    expect(Array.from(tok.encode(text))).toEqual(ids);
    expect(Array.from(lib.encode(text))).toEqual(ids);
  });

  it('truncates content but keeps [CLS] and [SEP]', () => {
    const ids = tok.encode('The quick brown fox jumps over the lazy dog.', { maxLength: 5 });
    expect(Array.from(ids)).toEqual([101, 1996, 4248, 2829, 102]);
    expect(Array.from(tok.encode('Hello, world!', { addSpecialTokens: false }))).toEqual([7592, 1010, 2088, 999]);
  });

  it('hands texts containing special-token literals to the library', () => {
    expect(Array.from(tok.encode('a [SEP] b'))).toEqual(tok.encodeWithLibrary('a [SEP] b'));
    expect(Array.from(tok.encode('a [SEP] b'))).toEqual([101, 1037, 102, 1038, 102]);
  });

  it('the fast WordPiece path equals the library on every SciFact document and query', async () => {
    expect(tok.fast).toBe(true);
    let n = 0;
    for await (const doc of readCorpus(join(SCIFACT, 'corpus.jsonl.gz'))) {
      const text = doc.title ? `${doc.title} ${doc.text}` : doc.text;
      const fast = Array.from(tok.encode(text));
      const ref = tok.encodeWithLibrary(text);
      if (fast.length !== ref.length || fast.some((v, i) => v !== ref[i])) expect({ id: doc.id, fast }).toEqual({ id: doc.id, fast: ref });
      n++;
    }
    for await (const q of readQueries(join(SCIFACT, 'queries.jsonl.gz'))) expect(Array.from(tok.encode(q.text))).toEqual(tok.encodeWithLibrary(q.text));
    expect(n).toBe(5183);
  });

  it('the fast path equals the library on random Unicode text', () => {
    const alphabet = fc.constantFrom(...'aZ09 .,;-\'"()[]\t\n\r\u00a0\u2028\u200b\ufeff\u0000\u0007éÉñüß東京한국어ΑΩαω\u0301\u0308ﬁ™€£…—–“”‘’•\ud83d\ude00\ud800İ'.split(''));
    fc.assert(
      fc.property(fc.array(fc.oneof(alphabet, fc.string({ unit: 'binary', maxLength: 3 }), fc.constantFrom('the', 'Cell', 'ing', '[CLS]', '##', 'unaffable')), { maxLength: 40 }), (parts) => {
        const text = parts.join('');
        expect(Array.from(tok.encode(text))).toEqual(tok.encodeWithLibrary(text));
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('says which file is missing or broken', () => {
    const dir = tempDir();
    expect(() => TextTokenizer.fromDir(dir)).toThrow(ModelInvalidError);
    expect(() => TextTokenizer.fromDir(dir)).toThrow(/tokenizer\.json: missing/);
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'tokenizer.json'), '{"version": 1}');
    expect(() => TextTokenizer.fromDir(join(dir, 'x'))).toThrow(/expected an object with a "model" section/);
    writeFileSync(join(dir, 'x', 'tokenizer.json'), '{not json');
    expect(() => TextTokenizer.fromDir(join(dir, 'x'))).toThrow(/tokenizer\.json: is not valid JSON/);
  });
});
