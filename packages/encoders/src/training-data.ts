import { DatasetError, SeededRandom, hashString, readJsonLines } from '@quarry/core';

/** One training example: a query, its positive passage and optional hard negatives. */
export interface TrainingExample {
  query: string;
  positive: string;
  negatives: string[];
}

/**
 * Streams examples from JSONL (or .jsonl.gz) files in the sentence-transformers layout
 * that the mining package writes: `{"query", "positive", "negative_1", "negative_2", ...}`.
 * Also accepted: `anchor` for `query`, a single `negative`, or a `negatives` array.
 */
export async function* readTrainingExamples(files: readonly string[]): AsyncGenerator<TrainingExample> {
  for (const file of files) {
    for await (const [line, obj] of readJsonLines(file)) {
      const query = obj['query'] ?? obj['anchor'];
      const positive = obj['positive'];
      if (typeof query !== 'string' || typeof positive !== 'string') {
        throw new DatasetError('DATASET_MALFORMED', 'a training example needs string "query" (or "anchor") and "positive" fields', file, line);
      }
      const negatives: string[] = [];
      if (Array.isArray(obj['negatives'])) for (const n of obj['negatives']) if (typeof n === 'string') negatives.push(n);
      if (typeof obj['negative'] === 'string') negatives.push(obj['negative']);
      for (let i = 1; ; i++) {
        const n = obj[`negative_${i}`];
        if (typeof n !== 'string') break;
        negatives.push(n);
      }
      yield { query, positive, negatives };
    }
  }
}

/**
 * The examples of one epoch in a reproducible shuffled order: the stream is cut into
 * chunks of `buffer` examples and each chunk is shuffled with a seed derived from
 * (seed, epoch, chunk). Memory stays bounded by `buffer`; the order depends only on
 * the data, the seed and the epoch, so a resumed run sees exactly the same batches.
 */
export async function* shuffledEpoch(files: readonly string[], seed: number, epoch: number, buffer: number): AsyncGenerator<TrainingExample> {
  let chunk: TrainingExample[] = [];
  let index = 0;
  const flush = function* (): Generator<TrainingExample> {
    const rng = new SeededRandom(hashString(`${seed}:${epoch}:${index++}`));
    rng.shuffle(chunk);
    yield* chunk;
    chunk = [];
  };
  for await (const ex of readTrainingExamples(files)) {
    chunk.push(ex);
    if (chunk.length >= buffer) yield* flush();
  }
  if (chunk.length) yield* flush();
}
