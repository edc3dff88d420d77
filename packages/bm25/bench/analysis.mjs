// Tokenizer figures quoted in the README: our StandardTokenizer port against Intl.Segmenter
// (ICU word boundaries) on SciFact, speed and agreement. Runs against dist.
// Usage: node bench/analysis.mjs
import { docText } from '@quarry/core';
import { tokenize } from '@quarry/bm25';
import { loadScifact } from './corpus.mjs';

const { docs } = await loadScifact();
const texts = docs.map(docText);
const chars = texts.reduce((n, t) => n + t.length, 0);
const segmenter = new Intl.Segmenter('en', { granularity: 'word' });
const icu = (text) => {
  const out = [];
  for (const s of segmenter.segment(text)) if (s.isWordLike) out.push(s.segment);
  return out;
};

function best(fn, rounds = 3) {
  let bestMs = Infinity;
  let result;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    result = fn();
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  return { ms: bestMs, result };
}

const ours = best(() => texts.map((t) => tokenize(t)));
const theirs = best(() => texts.map(icu));
let tokens = 0;
let differing = 0;
for (const [i, a] of ours.result.entries()) {
  tokens += a.length;
  const b = theirs.result[i];
  if (a.length !== b.length || a.some((t, j) => t !== b[j])) differing++;
}
console.log(`SciFact: ${docs.length} docs, ${(chars / 1e6).toFixed(2)} M UTF-16 units, ${tokens} tokens`);
console.log(`tokenize():      ${(chars / ours.ms / 1e3).toFixed(1)} M units/s (best of 3)`);
console.log(`Intl.Segmenter:  ${(chars / theirs.ms / 1e3).toFixed(1)} M units/s (best of 3)`);
console.log(`documents whose token lists differ: ${differing}`);
