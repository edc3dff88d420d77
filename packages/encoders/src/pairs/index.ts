export { fullText, manifestPath, randomNegatives, recordLine, writePairs, type NegativeMiner, type PairRecord, type PairsManifest } from './records.js';
export { ContaminationError, ContaminationGuard, normalizeText, type GuardReport } from './guard.js';
export {
  attachNegatives,
  independentCropPairs,
  inverseClozePairs,
  splitSentences,
  titleBodyPairs,
  type CorpusNegativeOptions,
  type CropOptions,
  type GeneratedPairs,
  type InverseClozeOptions,
} from './corpus.js';
export { WORDNET_PAIR_KINDS, corpusVocabulary, readWordNet, wordnetDictDir, wordnetPairs, type Synset, type WordNetPairKind, type WordNetPairOptions, type WordNetPos } from './wordnet.js';
export { supervisedPairs, type SupervisedPairOptions } from './supervised.js';
export { mixPairs, type MixOptions, type MixResult, type MixSource } from './mix.js';
export { writeGuardedPairs, type WriteGuardedOptions } from './write.js';
