// A seeded synthetic corpus for BM25 at scale, shaped like SciFact after analysis but with
// a vocabulary that keeps growing (replicating SciFact keeps it at 28,861 terms).
//
// - Words: ranks drawn from a Zipf-Mandelbrot law, p(r) ~ (r + 30)^-1.5, over an unbounded
//   vocabulary, so the number of distinct terms grows as Heaps' law says (about n^0.66 at
//   tens of millions of tokens; 1.14 M distinct terms at 1 M documents). The most frequent
//   word is 1.6% of tokens (SciFact's, after stop words: 1.4%).
// - Burstiness: 35% of a document's tokens repeat one of its earlier tokens, so a document
//   has about 0.6 distinct terms per token (SciFact: 98.6 distinct of 161.7).
// - Lengths: log-normal with SciFact's analysed-length parameters (mu 5.01, sigma 0.387:
//   median 150 tokens, p99 ~370).
// - Words are consonant strings (no vowels, no s or y), which the English analyzer keeps as
//   they are: no stop word, nothing for Porter to stem. So generated text is also the terms.
// - Queries: a log-normal length like SciFact's test queries (median 9 terms, p10 6, p90 16);
//   60% of the words come from one random document's distinct terms (rare and common words
//   in their natural mix, so every query has documents that match it well), the rest are
//   drawn from the Zipf law (mostly common words).
//
// Every document is a pure function of (seed, ordinal), so corpora stream without being
// held in memory and queries can look documents up again.
import { SeededRandom } from '@quarry/core';

const ALPHA = 1.5;
const OFFSET = 30;
const REPEAT = 0.35;
const LENGTH_MU = 5.01;
const LENGTH_SIGMA = 0.387;
const QUERY_MU = Math.log(9.5);
const QUERY_SIGMA = 0.36;
const FROM_DOC = 0.6;
const LETTERS = 'bcdfghjklmnpqrtvwxz';

const cache = [];
/** The word of Zipf rank `rank`: bijective base-19 over consonants ("b", "c", ..., "bb", ...). */
export function word(rank) {
  if (rank < 200_000 && cache[rank] !== undefined) return cache[rank];
  let s = '';
  let r = rank + 1;
  while (r > 0) {
    r -= 1;
    s = LETTERS[r % 19] + s;
    r = Math.floor(r / 19);
  }
  if (rank < 200_000) cache[rank] = s;
  return s;
}

function zipfRank(random) {
  return Math.floor(OFFSET * ((1 - random.next()) ** (-1 / (ALPHA - 1)) - 1));
}

function logNormal(random, mu, sigma) {
  return Math.exp(mu + sigma * random.normal());
}

function docRandom(seed, ordinal) {
  return new SeededRandom((Math.imul(seed, 0x9e3779b1) ^ Math.imul(ordinal + 1, 0x85ebca6b)) >>> 0);
}

/** The terms of document `ordinal` (with repeats, in text order). */
export function docWords(seed, ordinal) {
  const random = docRandom(seed, ordinal);
  const length = Math.max(1, Math.round(logNormal(random, LENGTH_MU, LENGTH_SIGMA)));
  const words = new Array(length);
  for (let i = 0; i < length; i++) words[i] = i > 0 && random.next() < REPEAT ? words[random.int(i)] : word(zipfRank(random));
  return words;
}

/** Documents `{ id: 'g<ordinal>', text }`, generated lazily. */
export function* generateDocs(count, seed = 1) {
  for (let i = 0; i < count; i++) yield { id: `g${i}`, text: docWords(seed, i).join(' ') };
}

/** `count` queries over a corpus of `docs` documents generated with `seed`. */
export function generateQueries(count, docs, seed = 1) {
  const random = new SeededRandom((seed * 7919 + 17) >>> 0);
  const queries = [];
  for (let q = 0; q < count; q++) {
    const length = Math.max(1, Math.round(logNormal(random, QUERY_MU, QUERY_SIGMA)));
    const pool = [...new Set(docWords(seed, random.int(docs)))];
    const words = [];
    for (let i = 0; i < length; i++) words.push(random.next() < FROM_DOC ? pool[random.int(pool.length)] : word(zipfRank(random)));
    queries.push({ id: `q${q}`, text: words.join(' ') });
  }
  return queries;
}
