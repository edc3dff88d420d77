import { MemoryDocStore, Pipeline, PluginRegistry } from '@quarry/core';
import { bm25Plugin } from '@quarry/bm25';
import { colbertPlugin, colbertRetrieverPlugin } from '@quarry/colbert';

const docs = new MemoryDocStore([
  { id: 'd1', title: 'Vitamin D and tuberculosis', text: 'Vitamin D deficiency is associated with an increased risk of active tuberculosis.' },
  { id: 'd2', title: 'Aspirin after stroke', text: 'Low-dose aspirin reduces the risk of a second ischaemic stroke.' },
  { id: 'd3', title: 'Statins', text: 'Statins lower LDL cholesterol and cardiovascular events in older adults.' },
]);
const registry = new PluginRegistry().register(bm25Plugin, colbertPlugin, colbertRetrieverPlugin);

// Full late-interaction retrieval over a PLAID-style index (64-d tokens, 2-bit residuals).
const colbert = await Pipeline.build({ retrievers: [{ plugin: 'colbert', options: { dim: 64, nbits: 2, centroids: 16 } }] }, registry, { docs });
const [top] = await colbert.search('does vitamin D protect against tuberculosis?', { k: 1 });
console.log(`colbert: ${top!.id} ${top!.score.toFixed(2)}`);

// BM25 first, then exact MaxSim over the candidates; the explanation pairs tokens.
const rerank = await Pipeline.build({ retrievers: [{ plugin: 'bm25' }], reranker: { plugin: 'colbert', options: { dim: 64 }, depth: 10 } }, registry, { docs });
const [best] = await rerank.search('aspirin prevents stroke', { k: 1 });
const matches = best!.explain!.matches as { queryToken: string; docToken: string; score: number }[];
console.log(`colbert-rerank: ${best!.id} ${best!.score.toFixed(2)}`);
console.log(matches.map((m) => `${m.queryToken}->${m.docToken}`).join(' '));
