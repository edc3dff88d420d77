export { Bm25Index, type AddAllOptions, type Bm25Options, type Bm25SearchOptions, type Bm25Stats, type LoadOptions } from './bm25-index.js';
export { bm25Plugin, type Bm25PluginOptions } from './plugin.js';
export { bm25OptionsSchema, bm25IndexOptionsSchema, bm25BuildOptionsSchema, bm25LoadOptionsSchema, bm25AddAllOptionsSchema } from './options.js';
export { EnglishAnalyzer, SimpleAnalyzer, createAnalyzer, type Analyzer, type AnalyzerName, type EnglishAnalyzerOptions } from './analyzer.js';
export { tokenize } from './tokenizer.js';
export { porterStem } from './porter.js';
export { ENGLISH_STOP_WORDS } from './stopwords.js';
export { LENGTH_TABLE, byte4ToInt, intToByte4, luceneLength } from './lucene-norms.js';
