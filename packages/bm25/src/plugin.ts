import { InputError, definePlugin, throwIfAborted, type z } from '@quarry/core';
import { Bm25Index } from './bm25-index.js';
import { bm25OptionsSchema } from './options.js';

const schema = bm25OptionsSchema;

export type Bm25PluginOptions = z.output<typeof schema>;

/**
 * The `bm25` retriever plugin: indexes the pipeline's documents (title + text) with
 * Lucene-exact BM25, or reads an index saved by a previous run.
 */
export const bm25Plugin = definePlugin({
  kind: 'retriever',
  name: 'bm25',
  description: "Lucene BM25 (Anserini defaults k1=0.9, b=0.4) over an in-memory inverted index, Lucene's English analyzer.",
  schema,
  async create(options: Bm25PluginOptions, context) {
    throwIfAborted(context.signal, 'BM25 indexing');
    return Bm25Index.build(context.docs, {
      ...options,
      total: context.docs.size,
      ...(context.signal ? { signal: context.signal } : {}),
      ...(context.onProgress ? { onProgress: context.onProgress } : {}),
    });
  },
  async load(dir: string, options: Bm25PluginOptions) {
    const index = await Bm25Index.load(dir, { k1: options.k1, b: options.b, lossyNorms: options.lossyNorms });
    if (index.analyzer.name !== options.analyzer) {
      throw new InputError(`The BM25 index in ${dir} was built with analyzer "${index.analyzer.name}", but the options ask for "${options.analyzer}". Change the option or rebuild the index.`);
    }
    return index;
  },
  cliOptions: [
    { flag: 'k1', option: 'k1', type: 'number', description: 'BM25 k1, term-frequency saturation (default 0.9)' },
    { flag: 'b', option: 'b', type: 'number', description: 'BM25 b, length normalisation in [0, 1] (default 0.4)' },
  ],
});
