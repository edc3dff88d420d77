import { MemoryDocStore } from '@quarry/core';
import { Bm25Index } from '@quarry/bm25';
import { ExtractiveAnswers, LameR, LameRRetriever, type LameRExplain } from '@quarry/lamer';

const docs = new MemoryDocStore([
  { id: 'd1', title: 'Vitamin D and bones', text: 'Vitamin D supplements reduce the risk of hip fractures in older adults. The effect is larger with calcium.' },
  { id: 'd2', title: 'Smoking', text: 'Smoking is the main cause of lung cancer. Quitting lowers the risk within ten years.' },
  { id: 'd3', title: 'Calcium intake', text: 'Calcium intake alone does not prevent fractures in older women. Vitamin D status modifies this.' },
]);
const bm25 = await Bm25Index.build(docs);

// No LLM here: the extractive source copies the candidates' best sentences (pseudo-relevance
// feedback). With a server, use new LlmAnswers(new OpenAIGenerator(client)) instead.
const source = await ExtractiveAnswers.fromDocs(docs, { selector: 'lexical' });
const lamer = new LameR(source, { candidates: 2, answers: 2, template: 'scientific', candidateTokens: 8 });
const hits = await new LameRRetriever(lamer, bm25, docs).search({ id: 'q1', text: 'does vitamin D prevent fractures' }, { k: 3 });

const trace = hits[0]!.explain!['lamer'] as LameRExplain;
console.log(hits.map((h) => `${h.id} ${h.score.toFixed(4)}`).join(', '));
console.log(JSON.stringify(trace.prompt));
console.log(trace.answers.join(' | '));
console.log(trace.augmentedQuery);
