import { CorpusStatsScorer, FmIndex, Llm2grIndex, Llm2grRetriever, TokenizerCodec } from '@quarry/llm2gr';

// An FM-index over token-id sequences: count, locate, successors, extract.
const fm = FmIndex.build([
  [5, 6, 7, 5, 6],
  [6, 7, 8],
]);
console.log(fm.count([5, 6]), JSON.stringify(fm.locatePattern([6, 7])));
console.log(JSON.stringify(fm.successorsOf([6]).map((s) => [s.token, s.count])), Array.from(fm.extract(0, 1, 3)).join(' '));

// LLM2GR over three documents with the default scorer (corpus statistics, no LLM).
const docs = [
  { id: 'd1', title: 'Vitamin D and hip fractures', text: 'Vitamin D supplements reduce the risk of hip fractures in older adults.' },
  { id: 'd2', title: 'Smoking and lung cancer', text: 'Smoking is the main cause of lung cancer; quitting lowers the risk.' },
  { id: 'd3', title: 'Aspirin after a heart attack', text: 'Daily aspirin lowers the risk of a second heart attack.' },
];
const codec = TokenizerCodec.fromDir(); // the BERT-uncased tokenizer bundled with @quarry/encoders
const index = Llm2grIndex.build(docs, codec);
const scorer = new CorpusStatsScorer(codec, index.fm, { trie: index.trie });
const llm2gr = new Llm2grRetriever(index, scorer);
const gen = await llm2gr.generate('Does vitamin D prevent fractures?');
for (const t of gen.titles) console.log(`${t.score.toFixed(4)}  ${t.title}`);
console.log(gen.passages[0]!.prefix, '|', gen.passages[0]!.passage);
console.log(gen.hits.map((h) => `${h.id} ${h.score.toFixed(4)}`).join(', '));
