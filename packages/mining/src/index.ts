export { miningOptionsSchema, ABSOLUTE_METHODS, FILTERS, type MiningOptions, type MiningOptionsInput, type FilterName } from './options.js';
export { filterCandidates, scoreScale, type FilterOutcome } from './filter.js';
export { selectNegatives } from './select.js';
export { mineBatch, type EnsembleOptions, type MinedExample, type ScoredDoc, type Teacher } from './miner.js';
export { fitTuple, formatExample, OUTPUT_FORMATS, TUPLE_FORMATS, type OutputFormat } from './formats.js';
export { FalseNegativeOracle } from './labels.js';
export { MiningStats, ScoreReservoir, type MiningReport, type TeacherCounts } from './stats.js';
export { mineToFile, mineToFileOptionsSchema, type MineToFileOptions } from './run.js';
export { histogramSvg } from './svg.js';
