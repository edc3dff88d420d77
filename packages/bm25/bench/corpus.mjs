// SciFact and its enlarged copies for the benchmark. Larger corpora replicate every
// SciFact doc (scale - 1) more times under new ids ("<id>~r<n>"), each copy perturbed
// with a seeded PRNG so it is a near-duplicate, not an exact one: 10% of the words are
// dropped and another 10% of positions are shuffled among themselves. Queries and qrels
// stay SciFact's, so the copies act as distractors (judged docs are the originals only).
import { SeededRandom } from '@quarry/core';
import { fileURLToPath } from 'node:url';
import { loadSplit, openBeirDataset, readCorpus } from '@quarry/core';

export const DATASET_DIR = fileURLToPath(new URL('../../../datasets/scifact', import.meta.url));

/** mulberry32 through core's SeededRandom (deterministic corpora across runs and machines). */
export function mulberry32(seed) {
  const random = new SeededRandom(seed);
  return () => random.next();
}

function perturb(text, rand) {
  const words = text.split(/\s+/).filter((w) => w !== '' && rand() >= 0.1);
  const picked = [];
  for (let i = 0; i < words.length; i++) if (rand() < 0.1) picked.push(i);
  const moved = picked.map((i) => words[i]);
  for (let i = moved.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [moved[i], moved[j]] = [moved[j], moved[i]];
  }
  picked.forEach((pos, n) => (words[pos] = moved[n]));
  return words.join(' ');
}

export async function loadScifact() {
  const dataset = openBeirDataset(DATASET_DIR);
  const docs = [];
  for await (const doc of readCorpus(dataset.corpusFile)) docs.push(doc);
  const { queries, qrels } = await loadSplit(dataset, 'test');
  return { docs, queries, qrels };
}

/** SciFact's docs followed by `scale - 1` perturbed copies (copy r uses seed r). */
export function scaleCorpus(docs, scale) {
  const out = [...docs];
  for (let r = 1; r < scale; r++) {
    const rand = mulberry32(r);
    for (const doc of docs) out.push({ id: `${doc.id}~r${r}`, title: doc.title ? perturb(doc.title, rand) : undefined, text: perturb(doc.text, rand) });
  }
  return out;
}

/** Judgements for a scaled corpus: each perturbed copy inherits its original's grade. */
export function expandQrels(qrels, scale) {
  if (scale === 1) return qrels;
  const out = new Map();
  for (const [qid, judged] of qrels) {
    const copy = new Map(judged);
    for (const [docId, grade] of judged) for (let r = 1; r < scale; r++) copy.set(`${docId}~r${r}`, grade);
    out.set(qid, copy);
  }
  return out;
}
