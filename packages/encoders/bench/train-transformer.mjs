// Trains Quarry's own transformer (2 layers x 256, warm-started from scifact-static) on the
// SciFact *train* pairs for a bounded number of steps, then reports nDCG@10 on SciFact
// test-unseen (report only: nothing is selected on it) beside the static models, and on a
// dev split of held-out train queries (every 10th train query, left out of the training file).
//
//   npx nx run @quarry/encoders:build
//   node packages/encoders/tools/build-training-data.mjs --sentences 5 --out packages/encoders/.cache/train-data-s5
//   node packages/encoders/bench/train-transformer.mjs [--steps 60] [--batch 16] [--lr 5e-5] [--seed 42] [--layers 2] [--out DIR]
//
// Writes DIR (default .cache/transformer-run) with the sentence-transformers folder, the
// checkpoint and curve.svg. Test queries and their qrels are never read before training ends.
import { createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import { docText, evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { StaticEncoder, StaticModel, TextTokenizer, TransformerModel, loadEncoder, loadOwnModel, saveTransformerFolder, trainTransformer } from '../dist/index.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const steps = Number(arg('steps', 60));
const batchSize = Number(arg('batch', 16));
const lr = Number(arg('lr', 5e-5));
const seed = Number(arg('seed', 42));
const layers = Number(arg('layers', 2));
const out = arg('out', join(pkg, '.cache', 'transformer-run'));
const tokenizerDir = join(pkg, 'tokenizers', 'bert-base-uncased');
const scifact = join(pkg, '..', '..', 'datasets', 'scifact');
const trainFile = join(pkg, '.cache', 'train-data-s5', 'train-queries.jsonl.gz');
if (!existsSync(trainFile)) throw new Error(`${trainFile} missing: run tools/build-training-data.mjs --sentences 5 first.`);
mkdirSync(out, { recursive: true });
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a);

// Dev split: every 10th SciFact train query (sorted by id) is held out of the training file.
const dataset = openBeirDataset(scifact);
const train = await loadSplit(dataset, 'train');
const devIds = new Set(
  train.queries
    .map((q) => q.id)
    .sort()
    .filter((_, i) => i % 10 === 0),
);
const devQueries = train.queries.filter((q) => devIds.has(q.id));
const devTexts = new Set(devQueries.map((q) => q.text));
const lines = [];
for await (const line of createInterface({ input: createReadStream(trainFile).pipe(createGunzip()) })) {
  if (!line.trim()) continue;
  if (!devTexts.has(JSON.parse(line).query)) lines.push(line);
}
const trainOnly = join(out, 'train-minus-dev.jsonl');
writeFileSync(trainOnly, `${lines.join('\n')}\n`);
log(`training examples ${lines.length} (dev: ${devQueries.length} train queries held out)`);

const staticEnc = await loadOwnModel(join(pkg, 'models', 'scifact-static'));
const config = { hidden: 256, layers, heads: 4, intermediate: 1024, colbertDim: 128, layerNormEps: 1e-12, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 };
const model = TransformerModel.init(config, { seed, fromStatic: staticEnc.model });
const c0 = cpu();
const w0 = Date.now();
const result = await trainTransformer({
  model,
  data: [trainOnly],
  tokenizerDir,
  steps,
  batchSize,
  negatives: 1,
  lr,
  lrEmbeddings: lr,
  seed,
  threads: 2,
  maxDocLength: 256,
  maxQueryLength: 64,
  checkpointDir: join(out, 'checkpoint'),
  checkpointEvery: 20,
  evalEvery: 10,
  curveFile: join(out, 'curve.svg'),
  onProgress: (p) => {
    if (p.phase === 'train' && (p.step % 5 === 0 || p.step === p.totalSteps)) log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} ${(p.elapsedMs / 1000).toFixed(0)}s`);
  },
});
const trainCpu = cpu() - c0;
log(
  `trained ${steps} steps: ${trainCpu.toFixed(0)} CPU-s, ${((Date.now() - w0) / 1000).toFixed(0)} s wall, ${((result.flopsPerStep * (steps - result.resumedFrom)) / result.cpuSeconds / 1e9).toFixed(1)} GFLOP per CPU-second in steps`,
);
const folder = join(out, 'model');
await saveTransformerFolder(folder, model, {
  tokenizerDir,
  maxLength: 256,
  overwrite: true,
  training: { command: `node bench/train-transformer.mjs --steps ${steps} --batch ${batchSize} --lr ${lr} --seed ${seed} --layers ${layers}`, data: 'SciFact train queries minus dev (every 10th)' },
});

// Evaluation: training is over; only now are the test-unseen queries read.
const docs = [];
for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
const testUnseen = await loadSplit(dataset, 'test-unseen');
const dev = { queries: devQueries, qrels: new Map([...train.qrels].filter(([q]) => devIds.has(q))) };

async function ndcgWith(encode, dim) {
  const docVecs = await encode(docs.map(docText), 'document');
  const res = {};
  for (const [name, split] of [
    ['dev', dev],
    ['test-unseen', testUnseen],
  ]) {
    const qv = await encode(
      split.queries.map((q) => q.text),
      'query',
    );
    const run = new Map();
    split.queries.forEach((q, i) => {
      const scores = [];
      for (let j = 0; j < docs.length; j++) {
        let s = 0;
        for (let k = 0; k < dim; k++) s += qv[i * dim + k] * docVecs[j * dim + k];
        scores.push({ id: docs[j].id, score: s });
      }
      scores.sort((a, b) => b.score - a.score);
      run.set(q.id, scores.slice(0, 100));
    });
    res[name] = evaluate(run, split.qrels, ['ndcg@10']).metrics['ndcg@10'];
  }
  return res;
}

const rows = [];
const viaEncoder = (enc) => async (texts, role) => (await enc.encode(texts, { role })).data;
rows.push({ model: 'scifact-static (shipped, tf 0.5)', ...(await ndcgWith(viaEncoder(staticEnc), 256)) });
const st = staticEnc.model;
const tf1 = new StaticEncoder(new StaticModel({ ...st.config, tfExponent: 1 }, st.mapping, st.embeddings, st.weights), TextTokenizer.fromDir(tokenizerDir));
rows.push({ model: 'scifact-static with tf 1 (= the transformer at step 0)', ...(await ndcgWith(viaEncoder(tf1), 256)) });
const enc = await loadEncoder(folder, { threads: 2, batchSize: 32 });
const e0 = cpu();
const ew = Date.now();
const mine = await ndcgWith(viaEncoder(enc), 256);
log(`transformer eval (corpus + queries): ${(cpu() - e0).toFixed(0)} CPU-s, ${((Date.now() - ew) / 1000).toFixed(0)} s wall, ${(docs.length / (cpu() - e0)).toFixed(1)} docs per CPU-s`);
rows.push({ model: `transformer ${layers}x256 after ${steps} steps (batch ${batchSize}, lr ${lr}, seed ${seed})`, ...mine });
rows.push({ model: 'BM25 (issue #17 table)', 'test-unseen': 0.674 });
console.table(rows.map((r) => ({ model: r.model, 'dev nDCG@10': r.dev?.toFixed(4) ?? '', 'test-unseen nDCG@10': r['test-unseen'].toFixed(4) })));
writeFileSync(join(out, 'results.json'), `${JSON.stringify({ rows, trainCpu, result: { ...result, losses: undefined } }, null, 2)}\n`);
