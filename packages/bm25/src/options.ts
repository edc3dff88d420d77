import { runtimeOptionsShape, z } from '@quarry/core';
import type { Analyzer } from './analyzer.js';

/**
 * The `bm25` plugin's options. `Bm25Index`'s constructor, `build` and `load` check their
 * options against this same schema, so a misspelled key fails the same way in code and in
 * a pipeline file (a `ConfigError` suggesting the closest key).
 */
export const bm25OptionsSchema = z
  .object({
    k1: z.number().min(0).max(10).default(0.9).describe('term-frequency saturation (Anserini 0.9, Lucene 1.2)'),
    b: z.number().min(0).max(1).default(0.4).describe('document-length normalisation (Anserini 0.4, Lucene 0.75)'),
    analyzer: z.enum(['english', 'simple']).default('english').describe("'english': Lucene EnglishAnalyzer (stop words, Porter); 'simple': lowercased words"),
    lossyNorms: z.boolean().default(true).describe("Lucene's one-byte document lengths (exact Anserini scores); false = exact lengths"),
  })
  .strict();

// In code, the analyzer may also be an object with analyze(text).
const analyzerObject = z.custom<Analyzer>((v) => typeof (v as Analyzer | null)?.analyze === 'function', 'must be "english", "simple" or an object with analyze(text): string[]');
const codeShape = { ...bm25OptionsSchema.shape, analyzer: z.union([bm25OptionsSchema.shape.analyzer, analyzerObject]) };

/** `new Bm25Index(options)`. */
export const bm25IndexOptionsSchema = z.strictObject(codeShape);
/** `Bm25Index.build(docs, options)`: the index options plus progress, cancellation and `total`. */
export const bm25BuildOptionsSchema = z.strictObject({ ...codeShape, ...runtimeOptionsShape, total: z.number().int().nonnegative().optional() });
/** `Bm25Index.load(dir, options)`: scoring overrides and the custom analyzer, if one was used. */
export const bm25LoadOptionsSchema = z.strictObject({ k1: codeShape.k1.optional(), b: codeShape.b.optional(), lossyNorms: codeShape.lossyNorms.optional(), analyzer: analyzerObject.optional() });
/** `index.addAll(docs, options)`. */
export const bm25AddAllOptionsSchema = z.strictObject({ ...runtimeOptionsShape, total: z.number().int().nonnegative().optional() });
