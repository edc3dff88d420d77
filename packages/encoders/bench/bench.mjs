#!/usr/bin/env node
// Encoding throughput, end to end (raw text -> tokenizer -> model -> normalised vectors), on
// SciFact documents (title + abstract, ~340 BERT tokens each, 512-token cap):
//   - Quarry's own static and contextual models, in TypeScript and through onnxruntime;
//   - the tiny DistilBERT ONNX fixture (hidden state exposed), through onnxruntime.
// Corpus sizes: 1,000 docs, the whole corpus (5,183), and 20,000 distinct docs made by
// recombining SciFact sentences (seeded), so every size is real text with no repeats.
// Each measurement loads a fresh encoder (cold tokenizer cache). Writes BENCHMARKS.md.
//
// Usage: npm run bench -w @quarry/encoders   (node bench/bench.mjs [--no-write])
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom, docText } from '@quarry/core';
import { DataType, OnnxEncoder, exposeGraphOutput, findNodeOutputConsuming, loadOwnModel } from '@quarry/encoders';
import { writeBenchSection, table } from '../../../tools/bench-report.mjs';
import { PKG, loadScifact } from './scifact.mjs';

const write = !process.argv.includes('--no-write');
const { docs } = await loadScifact(undefined, []);
const texts = docs.map(docText);

// 20,000 distinct documents: a real title followed by 6 sentences drawn from other documents.
const random = new SeededRandom(7);
const sentences = docs.flatMap((d) => d.text.split(/(?<=[.!?])\s+(?=[A-Z0-9([])/));
const big = [];
for (let i = 0; big.length < 20000; i++) {
  const parts = [docs[i % docs.length].title];
  for (let k = 0; k < 6; k++) parts.push(sentences[random.int(sentences.length)]);
  big.push(parts.join(' '));
}
const corpora = [
  ['1,000 docs', texts.slice(0, 1000)],
  ['5,183 docs (SciFact)', texts],
  ['20,000 docs', big],
];

// The DistilBERT fixture with its last hidden state exposed.
const bertDir = mkdtempSync(join(tmpdir(), 'quarry-bench-'));
const raw = new Uint8Array(readFileSync(join(PKG, 'test', 'fixtures', 'tiny-distilbert', 'model.onnx')));
const hidden = findNodeOutputConsuming(raw, 'distilbert.transformer.layer.1.output_layer_norm.bias', 'Add');
writeFileSync(join(bertDir, 'model.onnx'), exposeGraphOutput(raw, hidden, 'last_hidden_state', ['batch', 'sequence', 2], DataType.FLOAT));
copyFileSync(join(PKG, 'tokenizers', 'bert-base-uncased', 'tokenizer.json'), join(bertDir, 'tokenizer.json'));
writeFileSync(join(bertDir, 'quarry-encoder.json'), JSON.stringify({ pooling: 'mean', maxLength: 512 }));

const model = (name) => join(PKG, 'models', name);
const systems = [
  ['own static, TypeScript (WebAssembly SIMD pooling), 1 thread', () => loadOwnModel(model('scifact-static')), Infinity],
  ['own static, TypeScript (WebAssembly SIMD pooling), 2 threads', () => loadOwnModel(model('scifact-static'), { threads: 2 }), Infinity],
  ['own static, onnxruntime (2 threads)', () => OnnxEncoder.load(model('scifact-static'), { threads: 2, batchSize: 64 }), 5183],
  ['own contextual, TypeScript', () => loadOwnModel(model('scifact-contextual')), 1000],
  ['own contextual, onnxruntime (2 threads)', () => OnnxEncoder.load(model('scifact-contextual'), { threads: 2, batchSize: 64 }), 5183],
  ['tiny DistilBERT fixture (2 layers, hidden 2), onnxruntime (2 threads)', () => OnnxEncoder.load(bertDir, { threads: 2, batchSize: 64 }), 5183],
].filter(([label]) => !label.startsWith('own') || existsSync(model(label.includes('contextual') ? 'scifact-contextual' : 'scifact-static')));

const rows = [];
for (const [label, load, maxDocs] of systems) {
  const cells = [];
  for (const [, corpus] of corpora) {
    if (corpus.length > maxDocs) {
      cells.push('–');
      continue;
    }
    const encoder = await load();
    const t0 = performance.now();
    for (let i = 0; i < corpus.length; i += 1024) await encoder.encode(corpus.slice(i, i + 1024), { role: 'document' });
    const s = (performance.now() - t0) / 1000;
    cells.push(`${Math.round(corpus.length / s).toLocaleString('en-US')}`);
    await encoder.release?.();
    console.error(`${label}: ${corpus.length} docs in ${s.toFixed(2)} s`);
  }
  rows.push([label, ...cells]);
}
const rss = (process.resourceUsage().maxRSS / 1024).toFixed(0);
const markdown = [
  'Documents per second, end to end: raw text -> tokenizer (BERT WordPiece, fast path) -> model -> L2-normalised',
  'vectors, 1,024 texts per `encode` call, a fresh encoder per cell (cold tokenizer cache). SciFact title + abstract,',
  '~340 tokens per document, 512-token cap. "–" = not run (too slow at that size to be worth the wait).',
  '',
  table(['encoder', ...corpora.map(([name]) => name)], rows),
  '',
  `Peak RSS of the benchmark process: ${rss} MiB.`,
].join('\n');
console.log(markdown);
if (write) writeBenchSection('encoders', { title: '@quarry/encoders — encoding throughput', command: 'npm run bench -w @quarry/encoders', markdown });
