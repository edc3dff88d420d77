export { suffixArray } from './sais.js';
export { WaveletMatrix, popcount32 } from './wavelet.js';
export { FmIndex, FM_INDEX_FORMAT, FM_INDEX_VERSION, type FmIndexBuildOptions, type FmRange, type Occurrence, type Successor } from './fm-index.js';
export { TokenTrie, type TrieNode } from './trie.js';
export { ScorerError } from './errors.js';
