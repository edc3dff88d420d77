// Builds a large corpus and query set from real text (SciFact abstracts), seeded:
// each document is 4-8 sentences drawn from random abstracts; each query is a 6-14
// word span of one sentence of its positive document. Real vocabulary and term
// statistics at any size, with exactly one labelled positive per query.
import { SeededRandom, readCorpus } from '@quarry/core';
import { fileURLToPath } from 'node:url';

const SCIFACT = fileURLToPath(new URL('../../../datasets/scifact/corpus.jsonl.gz', import.meta.url));

export async function loadSentences() {
  const sentences = [];
  for await (const doc of readCorpus(SCIFACT)) {
    for (const s of doc.text.split(/(?<=[.!?])\s+/)) if (s.split(' ').length >= 8) sentences.push(s);
  }
  return sentences;
}

export function buildCollection(sentences, numDocs, numQueries, seed = 7) {
  const rng = new SeededRandom(seed);
  const docs = [];
  for (let i = 0; i < numDocs; i++) {
    const n = 4 + rng.int(5);
    const parts = [];
    for (let j = 0; j < n; j++) parts.push(sentences[rng.int(sentences.length)]);
    docs.push({ id: `d${i}`, title: parts[0].split(' ').slice(0, 8).join(' '), text: parts.join(' ') });
  }
  const queries = [];
  const qrels = new Map();
  for (let i = 0; i < numQueries; i++) {
    const doc = docs[rng.int(docs.length)];
    const words = doc.text.split(' ');
    const len = 6 + rng.int(9);
    const start = rng.int(Math.max(1, words.length - len));
    queries.push({ id: `q${i}`, text: words.slice(start, start + len).join(' ') });
    qrels.set(`q${i}`, new Map([[doc.id, 1]]));
  }
  return { docs, queries, qrels };
}
