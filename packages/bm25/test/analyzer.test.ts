import { describe, expect, it } from 'vitest';
import { ENGLISH_STOP_WORDS, EnglishAnalyzer, SimpleAnalyzer, createAnalyzer, porterStem, tokenize } from '../src/index.js';
import { forEachTokenSpan, hashSpan } from '../src/tokenizer.js';

const english = new EnglishAnalyzer();

describe('tokenize (StandardTokenizer rules)', () => {
  it('splits on spaces, punctuation and hyphens, keeps case', () => {
    expect(tokenize('Hello, World! IL-6 and TNF-α (p < 0.05)')).toEqual(['Hello', 'World', 'IL', '6', 'and', 'TNF', 'α', 'p', '0.05']);
  });

  it('keeps apostrophes, colons and periods between letters, and separators inside numbers', () => {
    expect(tokenize("don't U.S.A. e.g. a:b O'Neil")).toEqual(["don't", 'U.S.A', 'e.g', 'a:b', "O'Neil"]);
    expect(tokenize('3.14 1,000,000 10;20 5.')).toEqual(['3.14', '1,000,000', '10;20', '5']);
    expect(tokenize('x.1 1.x')).toEqual(['x', '1', '1', 'x']);
  });

  it('joins letters with digits and underscores', () => {
    expect(tokenize('p53 1.5mg CD4+ snake_case _x x_ ___')).toEqual(['p53', '1.5mg', 'CD4', 'snake_case', '_x', 'x_']);
  });

  it('handles Unicode: accents, combining marks, Greek, CJK, Thai, emoji', () => {
    expect(tokenize('café naïve cafe\u0301 Ωμέγα')).toEqual(['café', 'naïve', 'cafe\u0301', 'Ωμέγα']);
    expect(tokenize('日本語のテキスト')).toEqual(['日', '本', '語', 'の', 'テキスト']);
    expect(tokenize('ภาษาไทย ok 😀')).toEqual(['ภาษาไทย', 'ok', '😀']);
    expect(tokenize('𝐀𝐁 x')).toEqual(['𝐀𝐁', 'x']); // astral letters (surrogate pairs)
    expect(tokenize('soft\u00adhyphen zero\u200bwidth')).toEqual(['soft\u00adhyphen', 'zero', 'width']);
  });

  it('cuts tokens longer than 255 UTF-16 units, as Lucene does', () => {
    const tokens = tokenize('a'.repeat(600));
    expect(tokens.map((t) => t.length)).toEqual([255, 255, 90]);
  });

  it('reports a span hash equal to hashSpan of the span', () => {
    const text = "Don't stop: β-catenin 1,5 x\u0301y U.S. 𝐀";
    forEachTokenSpan(text, (start, end, hash) => expect(hash).toBe(hashSpan(text, start, end)));
  });

  it('returns nothing for empty or separator-only text', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' \n\t.,;:!?-–—()[]')).toEqual([]);
  });
});

describe('EnglishAnalyzer (Lucene EnglishAnalyzer, as Anserini uses it)', () => {
  it('removes exactly Lucene’s 33 stop words, case-insensitively', () => {
    expect(ENGLISH_STOP_WORDS).toHaveLength(33);
    expect(english.analyze(ENGLISH_STOP_WORDS.join(' '))).toEqual([]);
    expect(english.analyze('The THE tHe')).toEqual([]);
    // Words that are stop words elsewhere (e.g. NLTK) are kept.
    expect(english.analyze('we have been his')).toEqual(['we', 'have', 'been', 'hi']);
  });

  it('strips possessives before lowercasing and stemming', () => {
    expect(english.analyze("John's JOHN'S dog’s cat＇s")).toEqual(['john', 'john', 'dog', 'cat']);
    // A trailing apostrophe is not part of a token, so plural possessives just lose it.
    expect(english.analyze("dogs' she's it's")).toEqual(['dog', 'she']); // 'it' is a stop word
  });

  it('lowercases per character like Java (İ -> i, no final-sigma form)', () => {
    expect(english.analyze('İSTANBUL ΟΔΟΣ')).toEqual(['istanbul', 'οδοσ']);
  });

  it('stems with Porter as Lucene’s PorterStemFilter', () => {
    expect(english.analyze('Relational databases were running quickly')).toEqual(['relat', 'databas', 'were', 'run', 'quickli']);
  });

  it('drops tokens that are only stop words after possessive stripping', () => {
    expect(english.analyze("a's")).toEqual([]);
  });

  it('can skip stemming or use other stop words (then it is not restorable by name)', () => {
    const a = new EnglishAnalyzer({ stem: false, stopWords: ['foo'] });
    expect(a.analyze('Foo the running')).toEqual(['the', 'running']);
    expect(a.name).toBe('english-custom');
    expect(english.name).toBe('english');
  });

  it('analyzes each token independently of its neighbours', () => {
    const text = "Patients' outcomes after IL-6 blockade weren't worse.";
    expect(english.analyze(text)).toEqual(tokenize(text).flatMap((t) => english.analyze(t)));
  });
});

describe('porterStem', () => {
  // Examples from Porter (1980), "An algorithm for suffix stripping", with the outputs of
  // Porter's reference implementation (which Lucene's PorterStemmer ports).
  const cases: [string, string][] = [
    ['caresses', 'caress'],
    ['ponies', 'poni'],
    ['ties', 'ti'],
    ['caress', 'caress'],
    ['cats', 'cat'],
    ['feed', 'feed'],
    ['agreed', 'agre'],
    ['plastered', 'plaster'],
    ['bled', 'bled'],
    ['motoring', 'motor'],
    ['sing', 'sing'],
    ['conflated', 'conflat'],
    ['troubled', 'troubl'],
    ['sized', 'size'],
    ['hopping', 'hop'],
    ['tanned', 'tan'],
    ['falling', 'fall'],
    ['hissing', 'hiss'],
    ['fizzed', 'fizz'],
    ['failing', 'fail'],
    ['filing', 'file'],
    ['happy', 'happi'],
    ['sky', 'sky'],
    ['relational', 'relat'],
    ['conditional', 'condit'],
    ['rational', 'ration'],
    ['valenci', 'valenc'],
    ['hesitanci', 'hesit'],
    ['digitizer', 'digit'],
    ['conformabli', 'conform'],
    ['radicalli', 'radic'],
    ['differentli', 'differ'],
    ['vileli', 'vile'],
    ['analogousli', 'analog'],
    ['vietnamization', 'vietnam'],
    ['predication', 'predic'],
    ['operator', 'oper'],
    ['feudalism', 'feudal'],
    ['decisiveness', 'decis'],
    ['hopefulness', 'hope'],
    ['callousness', 'callous'],
    ['formaliti', 'formal'],
    ['sensitiviti', 'sensit'],
    ['sensibiliti', 'sensibl'],
    ['triplicate', 'triplic'],
    ['formative', 'form'],
    ['formalize', 'formal'],
    ['electriciti', 'electr'],
    ['electrical', 'electr'],
    ['hopeful', 'hope'],
    ['goodness', 'good'],
    ['revival', 'reviv'],
    ['allowance', 'allow'],
    ['inference', 'infer'],
    ['airliner', 'airlin'],
    ['gyroscopic', 'gyroscop'],
    ['adjustable', 'adjust'],
    ['defensible', 'defens'],
    ['irritant', 'irrit'],
    ['replacement', 'replac'],
    ['adjustment', 'adjust'],
    ['dependent', 'depend'],
    ['adoption', 'adopt'],
    ['homologou', 'homolog'],
    ['communism', 'commun'],
    ['activate', 'activ'],
    ['angulariti', 'angular'],
    ['homologous', 'homolog'],
    ['effective', 'effect'],
    ['bowdlerize', 'bowdler'],
    ['probate', 'probat'],
    ['rate', 'rate'],
    ['cease', 'ceas'],
    ['controll', 'control'],
    ['roll', 'roll'],
    ['generalizations', 'gener'],
    ['oscillators', 'oscil'],
    // Departures of the reference implementation from the paper, which Lucene keeps.
    ['archaeology', 'archaeolog'],
    ['abli', 'abli'],
    ['probabl', 'probabl'],
    // A suffix that is the whole word (Lucene allows an empty stem).
    ['ies', 'i'],
    ['sses', 'ss'],
    ['eed', 'eed'],
    ['eeds', 'eed'],
    ['ing', 'ing'],
    // Short words are left alone.
    ['is', 'is'],
    ['as', 'as'],
  ];
  it.each(cases)('%s -> %s', (word, stem) => expect(porterStem(word)).toBe(stem));
});

describe('SimpleAnalyzer and createAnalyzer', () => {
  it('lowercases letter/digit runs, keeps stop words, does not stem', () => {
    expect(new SimpleAnalyzer().analyze("The Cats' p53-Gene, Ω!")).toEqual(['the', 'cats', 'p53', 'gene', 'ω']);
  });

  it('builds analyzers by name and rejects unknown names', () => {
    expect(createAnalyzer('english')).toBeInstanceOf(EnglishAnalyzer);
    expect(createAnalyzer('simple')).toBeInstanceOf(SimpleAnalyzer);
    expect(() => createAnalyzer('klingon' as never)).toThrow(/Unknown analyzer "klingon"/);
  });
});
