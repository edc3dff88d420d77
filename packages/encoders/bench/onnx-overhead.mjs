#!/usr/bin/env node
// What Quarry's OnnxEncoder adds on top of onnxruntime-node itself (issue #20 item 5 profiling):
// the same export, the same texts, the same length-sorted batches of 32, run (a) as bare
// `session.run` calls on pre-tokenised ids and (b) through `OnnxEncoder.encode` (tokenising,
// feeds, pooling, normalising). Rounds alternate which goes first; CPU time of the process.
//
//   node packages/encoders/bench/onnx-overhead.mjs --dir /tmp/quarry-parity [--max-length 256] [--threads 1] [--docs 32] [--rounds 8]
//
// The export is the one tools/reference/bench_parity.py builds. Optional bench; never in tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { OnnxEncoder } from '@quarry/encoders';
import { writeBenchSection } from '../../../tools/bench-report.mjs';
import { SCIFACT } from './scifact.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const dir = join(arg('dir', '/tmp/quarry-parity'), 'model');
const maxLength = Number(arg('max-length', '256'));
const threads = Number(arg('threads', '1'));
const docs = Number(arg('docs', '32'));
const rounds = Number(arg('rounds', '8'));
const texts = gunzipSync(readFileSync(join(SCIFACT, 'corpus.jsonl.gz')))
  .toString('utf8')
  .split('\n')
  .slice(0, docs)
  .map((l) => JSON.parse(l))
  .map((d) => `${d.title ?? ''} ${d.text}`.trim());

const enc = await OnnxEncoder.load(dir, { threads, batchSize: 32, maxLength });
const cpuOf = async (f) => {
  const c0 = process.cpuUsage();
  await f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
let ids;
const tokenise = await cpuOf(() => {
  ids = texts.map((t) => enc.model.tokenizer.encode(t, { maxLength }));
});
const session = await ort.InferenceSession.create(enc.model.folder.modelFile, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
const order = ids.map((_, i) => i).sort((a, b) => ids[a].length - ids[b].length || a - b);
async function bare() {
  for (let s = 0; s < order.length; s += 32) {
    const items = order.slice(s, s + 32);
    const L = Math.max(...items.map((i) => ids[i].length));
    const B = items.length;
    const input = new BigInt64Array(B * L);
    const mask = new BigInt64Array(B * L);
    items.forEach((item, b) => {
      ids[item].forEach((id, t) => {
        input[b * L + t] = BigInt(id);
        mask[b * L + t] = 1n;
      });
    });
    const feeds = { input_ids: new ort.Tensor('int64', input, [B, L]), attention_mask: new ort.Tensor('int64', mask, [B, L]) };
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * L), [B, L]);
    await session.run(feeds, ['last_hidden_state']);
  }
}
const quarry = () => enc.encode(texts, { role: 'document' });
await bare();
await quarry();
const ratios = [];
let bareTotal = 0;
let quarryTotal = 0;
for (let r = 0; r < rounds; r++) {
  let a;
  let b;
  if (r % 2 === 0) {
    a = await cpuOf(bare);
    b = await cpuOf(quarry);
  } else {
    b = await cpuOf(quarry);
    a = await cpuOf(bare);
  }
  bareTotal += a;
  quarryTotal += b;
  ratios.push(b / a);
}
ratios.sort((x, y) => x - y);
const median = rounds % 2 ? ratios[(rounds - 1) / 2] : (ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2;
const markdown = `The bge-small-shaped export of the parity bench, ${docs} SciFact documents, at most ${maxLength} tokens, ${threads} onnxruntime thread(s), batches of 32
sorted by length, ${rounds} rounds alternating which runs first. CPU seconds of Quarry's \`OnnxEncoder.encode\` (tokenising, feeds, pooling,
normalising) over bare \`session.run\` calls on the same pre-tokenised ids:

- per round: ${ratios.map((x) => x.toFixed(3)).join(', ')} (median **${median.toFixed(3)}**; all rounds together ${(quarryTotal / bareTotal).toFixed(3)});
- tokenising all ${docs} documents: ${tokenise.toFixed(3)} CPU-s, against ${(quarryTotal / rounds).toFixed(2)} CPU-s per encode call.

A ratio of 1 means Quarry adds nothing measurable to onnxruntime-node: what separates it from onnxruntime-python is the binding, not Quarry.`;
console.log(markdown);
if (!process.argv.includes('--no-write')) {
  writeBenchSection('encoders-onnx-overhead', {
    title: '@quarry/encoders — what OnnxEncoder adds to onnxruntime-node',
    command: `node packages/encoders/bench/onnx-overhead.mjs ${process.argv.slice(2).join(' ')}`,
    markdown,
  });
}
await enc.release();
await session.release();
