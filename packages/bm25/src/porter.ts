import { stemmer } from 'stemmer';

/**
 * Porter (1980) stemming, as Lucene's PorterStemFilter does it (both follow Porter's
 * reference C implementation, including its `logi -> log` and `bli -> ble` rules).
 * A corpus has few distinct words, so stems are cached; the cache is bounded so a
 * long-running process that sees unbounded vocabularies does not grow forever.
 */
const MAX_CACHED = 1 << 20;
const cache = new Map<string, string>();

/**
 * `stemmer` needs at least one letter before a suffix, Lucene accepts an empty stem:
 * these are the words where that changes the result.
 */
const WHOLE_WORD_SUFFIX: Readonly<Record<string, string>> = { ies: 'i', sses: 'ss', eed: 'eed', eeds: 'eed' };

export function porterStem(word: string): string {
  let stem = cache.get(word);
  if (stem === undefined) {
    // Lucene leaves words of one or two characters alone; so does `stemmer`.
    stem = WHOLE_WORD_SUFFIX[word] ?? stemmer(word);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(word, stem);
  }
  return stem;
}
