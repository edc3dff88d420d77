// One benchmark size in its own process (so peak RSS is this size's alone).
// Usage: node bench/run-size.mjs QUERIES DOCS
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDocStore } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { mineToFile } from '@quarry/mining';
import { buildCollection, loadSentences } from './synthetic.mjs';

const [numQueries, numDocs] = process.argv.slice(2).map(Number);
const sentences = await loadSentences();
const { docs, queries, qrels } = buildCollection(sentences, numDocs, numQueries);
const store = new MemoryDocStore(docs);
let t = performance.now();
const index = new Bm25Index();
await index.addAll(docs);
const buildSeconds = (performance.now() - t) / 1000;
const dir = mkdtempSync(join(tmpdir(), 'quarry-mine-bench-'));
const out = join(dir, 'mined.jsonl');
t = performance.now();
const { report } = await mineToFile({
  queries,
  qrels,
  docs: store,
  teachers: [{ name: 'bm25', retriever: index }],
  options: { method: 'perc-pos', perc: 0.95, negatives: 4, depth: 30 },
  format: 'n-tuple-scores',
  out,
  batchSize: 512,
});
const mineSeconds = (performance.now() - t) / 1000;
const outBytes = statSync(out).size;
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    queries: numQueries,
    docs: numDocs,
    buildSeconds,
    mineSeconds,
    qps: numQueries / mineSeconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    outMiB: outBytes / 2 ** 20,
    shortQueries: report.shortQueries,
    removedByMethod: report.teachers['bm25'].removed.method,
  }),
);
