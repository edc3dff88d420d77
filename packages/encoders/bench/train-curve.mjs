// A learning-curve run for Quarry's own transformer (issue #17): 2 x 256, warm-started from
// `scifact-static-selfsup` (trained on corpus pairs only, no query of any split) or from random
// init, trained on a mix of self-supervised corpus pairs (ICT, crops, title -> abstract from
// src/pairs) and the SciFact train pairs with NV-Retriever mined negatives, minus a dev split
// (every 10th train query, sorted by id), every file read back through the contamination guard.
// The dev metric is taken every --eval-every steps (the curve); test-unseen is read only after
// training stops, reported, never selected on.
//
//   npx nx run @quarry/encoders:build
//   cd packages/encoders && node tools/build-pairs.mjs        # .cache/pairs/{ict,crop,title,scifact-train}.jsonl.gz
//   node bench/train-curve.mjs [--init selfsup|random] [--steps 800] [--batch 32] [--lr 1e-4] [--seed 42]
//        [--eval-every 25] [--mix ict:1,crop:1,title:1,scifact:1] [--stop-minutes M] [--eval-only] [--out DIR]
//
// --steps is the whole schedule (warm-up 10%, then linear decay to 0 at --steps); --stop-minutes
// ends this invocation at the first checkpoint after M minutes of wall time. Run the same command
// again to resume from DIR/checkpoint bit for bit (threads 1). DIR/curve.jsonl keeps every dev
// point of every invocation, DIR/curve.svg the loss and dev curves, DIR/results.json the final table.
//
// Dev metric during training: nDCG@10 of the 81 dev queries, exact cosine search over a fixed pool
// (their judged documents + BM25's top 10 for each: 750), so one point costs 750 documents to encode
// instead of 5,183. At the end the dev split is also scored on the full corpus.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AbortError, docText, evaluate, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import {
  ContaminationGuard,
  StaticEncoder,
  StaticModel,
  TextTokenizer,
  TransformerModel,
  TransformerRuntime,
  loadEncoder,
  loadOwnModel,
  padBatch,
  saveTransformerFolder,
  trainTransformer,
  weightsOf,
  writeGuardedPairs,
} from '../dist/index.js';
import { PKG, SCIFACT, bm25Searcher } from './scifact.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const init = arg('init', 'selfsup');
const steps = Number(arg('steps', 800));
const batchSize = Number(arg('batch', 32));
const lr = Number(arg('lr', 1e-4));
const seed = Number(arg('seed', 42));
const evalEvery = Number(arg('eval-every', 25));
const mixArg = arg('mix', 'ict:1,crop:1,title:1,scifact:1');
const stopMinutes = Number(arg('stop-minutes', Number.POSITIVE_INFINITY));
// --eval-only: load the checkpoint, train nothing, run the final evaluation.
const evalOnly = process.argv.includes('--eval-only');
const out = arg('out', join(PKG, '.cache', `transformer-curve-${init}`));
const threads = 1;
const tokenizerDir = join(PKG, 'tokenizers', 'bert-base-uncased');
const pairsDir = join(PKG, '.cache', 'pairs');
if (!['selfsup', 'random'].includes(init)) throw new Error(`--init selfsup|random, got ${init}`);
mkdirSync(out, { recursive: true });
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a);
const started = Date.now();
const command = `node bench/train-curve.mjs --init ${init} --steps ${steps} --batch ${batchSize} --lr ${lr} --seed ${seed} --eval-every ${evalEvery} --mix ${mixArg}`;

// ---- Data: dev split, guarded training files ----
const dataset = openBeirDataset(SCIFACT);
const train = await loadSplit(dataset, 'train');
const devIds = new Set(
  train.queries
    .map((q) => q.id)
    .sort()
    .filter((_, i) => i % 10 === 0),
);
const dev = { queries: train.queries.filter((q) => devIds.has(q.id)), qrels: new Map([...train.qrels].filter(([q]) => devIds.has(q))) };
const guard = await ContaminationGuard.fromBeir(SCIFACT, ['test', 'test-unseen']);
// The dev split is query-disjoint, not document-disjoint: count its judged documents that are
// also judged for a training query (test-unseen's, by its construction, are not).
const trainPositives = new Set();
for (const [q, judged] of train.qrels) if (!devIds.has(q)) for (const id of judged.keys()) trainPositives.add(id);
const sharedPositives = (qrels) => {
  let n = 0;
  let shared = 0;
  for (const judged of qrels.values())
    for (const id of judged.keys()) {
      n++;
      if (trainPositives.has(id)) shared++;
    }
  return `${shared}/${n}`;
};
log(`dev judged documents also judged for a training query: ${sharedPositives(dev.qrels)}`);

const readPairs = (file) => {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter(Boolean);
  const manifest = JSON.parse(readFileSync(`${file.replace(/\.gz$/, '')}.manifest.json`, 'utf8'));
  return lines.map((line, i) => {
    const r = JSON.parse(line);
    const negatives = Object.keys(r)
      .filter((k) => k.startsWith('negative_'))
      .sort((a, b) => Number(a.slice(9)) - Number(b.slice(9)))
      .map((k) => r[k]);
    return { query: r.query, positive: r.positive, negatives, queryId: manifest.queryIds[i] ?? undefined, positiveId: manifest.positiveIds[i] ?? undefined };
  });
};
const files = { ict: 'ict.jsonl.gz', crop: 'crop.jsonl.gz', title: 'title.jsonl.gz', scifact: 'scifact-train.jsonl.gz', wordnet: 'wordnet.jsonl.gz' };
const data = [];
for (const part of mixArg.split(',')) {
  const [name, w] = part.split(':');
  const src = join(pairsDir, files[name] ?? `${name}`);
  if (!existsSync(src)) throw new Error(`${src} missing: run tools/build-pairs.mjs first.`);
  if (name === 'scifact') {
    // The SciFact train pairs minus the dev queries (by the manifest's query ids, and by text).
    const devTexts = new Set(dev.queries.map((q) => q.text));
    const all = readPairs(src);
    const records = all.filter((r) => r.queryId != null && !devIds.has(r.queryId) && !devTexts.has(r.query));
    const file = join(out, 'scifact-train-minus-dev.jsonl.gz');
    const { guard: report } = await writeGuardedPairs(
      file,
      { records, dropped: { 'dev query (every 10th train query)': all.length - records.length } },
      { guard, source: 'supervised minus dev', seed },
    );
    log(`scifact train pairs ${records.length} (dropped ${all.length - records.length} of ${devIds.size} dev queries); guard: ${JSON.stringify(report)}`);
    data.push({ path: file, weight: Number(w) });
  } else {
    const report = await guard.checkFile(src);
    log(`${name} pairs: guard ${JSON.stringify(report)}`);
    data.push({ path: src, weight: Number(w) });
  }
}

// ---- Dev pool: judged documents of the dev queries + BM25's top 10 for each ----
const docs = [];
for await (const d of readCorpus(dataset.corpusFile)) docs.push(d);
const bm25 = await bm25Searcher(docs);
const bm25Dev = await bm25.run(dev.queries, { k: 10 });
const poolIds = new Set();
for (const [, judged] of dev.qrels) for (const id of judged.keys()) poolIds.add(id);
for (const hits of bm25Dev.values()) for (const h of hits) poolIds.add(h.id);
const pool = docs.filter((d) => poolIds.has(d.id));
log(`dev: ${dev.queries.length} queries, pool of ${pool.length} documents`);

// ---- Model ----
const config = { hidden: 256, layers: 2, heads: 4, intermediate: 1024, colbertDim: 128, layerNormEps: 1e-12, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 };
const selfsup = await loadOwnModel(join(PKG, 'models', 'scifact-static-selfsup'));
const model = TransformerModel.init(config, init === 'selfsup' ? { seed, fromStatic: selfsup.model } : { seed });
const tokenizer = TextTokenizer.fromDir(tokenizerDir);
const evalRt = await TransformerRuntime.create(config, { training: false, threads });

/** Normalised pooled vectors of `texts` with the current weights (batches sorted by length). */
async function encodeNow(texts, maxLength) {
  const ids = texts.map((t) => tokenizer.encode(t, { maxLength, addSpecialTokens: true }));
  const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length);
  const d = config.hidden;
  const outv = new Float32Array(texts.length * d);
  const w = weightsOf(model);
  for (let s = 0; s < order.length; s += 32) {
    const part = order.slice(s, s + 32);
    const f = await evalRt.forward(w, padBatch(part.map((i) => ids[i])));
    part.forEach((i, b) => {
      let n = 0;
      for (let j = 0; j < d; j++) n += f.pooled[b * d + j] ** 2;
      n = Math.sqrt(n) || 1;
      for (let j = 0; j < d; j++) outv[i * d + j] = f.pooled[b * d + j] / n;
    });
  }
  return outv;
}

function ndcgOf(qv, dv, corpus, split, dim) {
  const run = new Map();
  split.queries.forEach((q, i) => {
    const scores = [];
    for (let j = 0; j < corpus.length; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += qv[i * dim + k] * dv[j * dim + k];
      scores.push({ id: corpus[j].id, score: s });
    }
    scores.sort((a, b) => b.score - a.score);
    run.set(q.id, scores.slice(0, 100));
  });
  return evaluate(run, split.qrels, ['ndcg@10']).metrics['ndcg@10'];
}

const devPoolNdcg = async () => {
  const dv = await encodeNow(pool.map(docText), 256);
  const qv = await encodeNow(
    dev.queries.map((q) => q.text),
    64,
  );
  return ndcgOf(qv, dv, pool, dev, config.hidden);
};

// ---- Train ----
const curveFile = join(out, 'curve.jsonl');
const checkpointDir = join(out, 'checkpoint');
const resuming = existsSync(join(checkpointDir, 'manifest.json'));
if (!resuming) {
  const e0 = cpu();
  const v = await devPoolNdcg();
  writeFileSync(curveFile, `${JSON.stringify({ step: 0, devPool: v, evalCpu: cpu() - e0 })}\n`);
  log(`step 0 dev(pool) nDCG@10 ${v.toFixed(4)} (${(cpu() - e0).toFixed(0)} CPU-s)`);
}
const controller = new AbortController();
if (evalOnly) controller.abort();
const c0 = cpu();
let evalCpu = 0;
let lastStep = 0;
let lastLoss = [];
let stopped = false;
const t0 = Date.now();
try {
  await trainTransformer({
    model,
    data,
    tokenizerDir,
    steps,
    batchSize,
    negatives: 1,
    lr,
    lrEmbeddings: lr,
    seed,
    threads,
    maxDocLength: 256,
    maxQueryLength: 64,
    checkpointDir,
    checkpointEvery: evalEvery,
    evalEvery,
    evaluate: async () => {
      const e0 = cpu();
      const v = await devPoolNdcg();
      evalCpu += cpu() - e0;
      return v;
    },
    curveFile: join(out, 'curve.svg'),
    signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'train') {
        lastStep = p.step;
        lastLoss.push(p.loss);
        if (p.step % 5 === 0) log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
      if (p.phase === 'eval') {
        const trainCpuSoFar = cpu() - c0 - evalCpu;
        const meanLoss = lastLoss.reduce((a, b) => a + b, 0) / Math.max(1, lastLoss.length);
        appendFileSync(curveFile, `${JSON.stringify({ step: p.step, devPool: p.dev, meanLoss, invocationTrainCpu: trainCpuSoFar, invocationEvalCpu: evalCpu })}\n`);
        lastLoss = [];
        log(`step ${p.step} dev(pool) nDCG@10 ${p.dev.toFixed(4)} (train CPU-s this invocation ${trainCpuSoFar.toFixed(0)})`);
      }
      if (p.phase === 'checkpoint' && (Date.now() - started) / 60000 >= stopMinutes && p.step < p.totalSteps) {
        log(`stopping after the checkpoint at step ${p.step} (--stop-minutes ${stopMinutes})`);
        controller.abort();
      }
    },
  });
} catch (e) {
  if (!(e instanceof AbortError)) throw e;
  stopped = true;
}
const trainCpu = cpu() - c0 - evalCpu;
if (evalOnly)
  lastStep = Math.max(
    ...readFileSync(curveFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).step),
  );
log(`this invocation: steps to ${lastStep}, ${trainCpu.toFixed(0)} CPU-s training + ${evalCpu.toFixed(0)} CPU-s dev evals`);

// ---- Final evaluation: only now are the test-unseen queries read ----
const folder = join(out, 'model');
await saveTransformerFolder(folder, model, {
  tokenizerDir,
  maxLength: 256,
  overwrite: true,
  training: { command, data: `${mixArg} (SciFact train minus dev: every 10th train query); step ${lastStep} of ${steps}` },
});
const testUnseen = await loadSplit(dataset, 'test-unseen');
log(`test-unseen judged documents also judged for a training query: ${sharedPositives(testUnseen.qrels)}`);
const splits = [
  ['dev', dev],
  ['test-unseen', testUnseen],
];
async function fullNdcg(encode, dim) {
  const dv = await encode(docs.map(docText), 'document');
  const res = {};
  for (const [name, split] of splits) {
    const qv = await encode(
      split.queries.map((q) => q.text),
      'query',
    );
    res[name] = ndcgOf(qv, dv, docs, split, dim);
  }
  return res;
}
const viaEncoder = (enc) => async (texts, role) => (await enc.encode(texts, { role })).data;
const rows = [];
const bm25Row = { model: 'BM25 (k1 0.9, b 0.4)' };
for (const [name, split] of splits) bm25Row[name] = evaluate(await bm25.run(split.queries), split.qrels, ['ndcg@10']).metrics['ndcg@10'];
rows.push(bm25Row);
const shipped = await loadOwnModel(join(PKG, 'models', 'scifact-static'));
rows.push({ model: 'scifact-static (shipped; saw every train query)', ...(await fullNdcg(viaEncoder(shipped), 256)) });
rows.push({ model: 'scifact-static-selfsup (tf 0.5)', ...(await fullNdcg(viaEncoder(selfsup), 256)) });
if (init === 'selfsup') {
  const st = selfsup.model;
  const tf1 = new StaticEncoder(new StaticModel({ ...st.config, tfExponent: 1 }, st.mapping, st.embeddings, st.weights), tokenizer);
  rows.push({ model: 'scifact-static-selfsup with tf 1 (= the transformer at step 0)', ...(await fullNdcg(viaEncoder(tf1), 256)) });
}
const enc = await loadEncoder(folder, { threads: 2, batchSize: 32 });
const e0 = cpu();
rows.push({ model: `transformer 2x256 (${init} init) at step ${lastStep} of ${steps}`, ...(await fullNdcg(viaEncoder(enc), 256)) });
log(`final transformer eval: ${(cpu() - e0).toFixed(0)} CPU-s`);
console.table(rows.map((r) => ({ model: r.model, 'dev nDCG@10 (full corpus)': r.dev.toFixed(4), 'test-unseen nDCG@10': r['test-unseen'].toFixed(4) })));
const curve = readFileSync(curveFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
console.log('step -> dev(pool) nDCG@10:', curve.map((c) => `${c.step}: ${c.devPool.toFixed(4)}`).join(', '));
writeFileSync(join(out, 'results.json'), `${JSON.stringify({ command, stopped, lastStep, trainCpu, evalCpu, rows, curve }, null, 2)}\n`);
