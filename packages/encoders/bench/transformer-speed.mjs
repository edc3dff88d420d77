// Speed of Quarry's own transformer (issue #17): training FLOP/s against the machine's
// measured fp32 GEMM peak (both per CPU-second, process.cpuUsage, in this one run), and
// encode speed (docs/s, tokenisation included) of the exported folder through loadEncoder.
//
//   npx nx run @quarry/encoders:build
//   node packages/encoders/tools/build-training-data.mjs --sentences 5 --out packages/encoders/.cache/train-data-s5
//   node packages/encoders/bench/transformer-speed.mjs [--steps 3] [--docs 300] [--sizes 2x256,4x256,2x384,2x128]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { docText, readCorpus } from '@quarry/core';
import { DataType, GraphBuilder, TransformerModel, loadEncoder, saveTransformerFolder, trainTransformer } from '../dist/index.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const steps = Number(arg('steps', 3));
const nDocs = Number(arg('docs', 300));
const sizes = arg('sizes', '2x256,4x256,2x384,2x128')
  .split(',')
  .map((s) => s.split('x').map(Number));
const data = join(pkg, '.cache', 'train-data-s5', 'train-queries.jsonl.gz');
const tokenizerDir = join(pkg, 'tokenizers', 'bert-base-uncased');
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// 1. Peak: onnxruntime MatMul, 1 intra-op thread (the training runtime's setting), best of the FFN shapes.
const g = new GraphBuilder('gemm');
g.input('A', DataType.FLOAT, ['m', 'k']);
g.input('B', DataType.FLOAT, ['k', 'n']);
g.node('MatMul', ['A', 'B'], {}, ['C']);
g.output('C', DataType.FLOAT, ['m', 'n']);
const s = await ort.InferenceSession.create(g.build(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
let peak = 0;
for (const [M, K, N] of [
  [4096, 256, 1024],
  [4096, 1024, 256],
]) {
  const A = new Float32Array(M * K).fill(0.01);
  const B = new Float32Array(K * N).fill(0.02);
  await s.run({ A: new ort.Tensor('float32', A, [M, K]), B: new ort.Tensor('float32', B, [K, N]) });
  const t = cpu();
  for (let r = 0; r < 5; r++) await s.run({ A: new ort.Tensor('float32', A, [M, K]), B: new ort.Tensor('float32', B, [K, N]) });
  peak = Math.max(peak, (5 * 2 * M * K * N) / (cpu() - t) / 1e9);
}
console.log(`fp32 GEMM peak (onnxruntime MatMul, 1 thread): ${peak.toFixed(1)} GFLOP per CPU-second`);

const docs = [];
for await (const d of readCorpus(join(pkg, '..', '..', 'datasets', 'scifact', 'corpus.jsonl.gz'))) {
  docs.push(docText(d));
  if (docs.length === nDocs) break;
}

const rows = [];
for (const [layers, hidden] of sizes) {
  const heads = hidden / 64;
  const config = { hidden, layers, heads, intermediate: 4 * hidden, colbertDim: 128, layerNormEps: 1e-12, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 };
  const model = TransformerModel.init(config, { seed: 1 });
  const r = await trainTransformer({ model, data: [data], tokenizerDir, steps: steps + 1, batchSize: 32, negatives: 1, maxDocLength: 256, maxQueryLength: 64, threads: 1 });
  // Step 1 warms the sessions up; rates use all steps (cpuSeconds covers steps only, not reading data).
  const gflops = (r.flopsPerStep * (steps + 1)) / r.cpuSeconds / 1e9;
  const dir = join(mkdtempSync(join(tmpdir(), 'qt-speed-')), 'model');
  await saveTransformerFolder(dir, model, { tokenizerDir, maxLength: 256 });
  const enc = await loadEncoder(dir, { threads: 2, batchSize: 32 });
  await enc.encode(docs.slice(0, 8), { role: 'document' });
  const c0 = cpu();
  const w0 = performance.now();
  await enc.encode(docs, { role: 'document' });
  const cpuS = cpu() - c0;
  const wallS = (performance.now() - w0) / 1e3;
  rows.push({
    size: `${layers} layers x ${hidden} (${heads} heads, FFN ${4 * hidden})`,
    params: `${(model.parameterCount() / 1e6).toFixed(1)}M`,
    'step GFLOP (B=32 q + 32 pos + 32 neg, docs <=256 tok)': (r.flopsPerStep / 1e9).toFixed(0),
    'train GFLOP/cpu-s': gflops.toFixed(1),
    '% of peak': ((100 * gflops) / peak).toFixed(0),
    'cpu-s/step': (r.cpuSeconds / (steps + 1)).toFixed(1),
    'encode docs/cpu-s (<=256 tok)': (nDocs / cpuS).toFixed(0),
    'encode docs/wall-s (2 threads)': (nDocs / wallS).toFixed(0),
  });
  await enc.release?.();
}
console.table(rows);
