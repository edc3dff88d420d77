import { BoolRetriever, loadBoolEncoder } from '@quarry/bool-attn';

const encoder = await loadBoolEncoder(); // bundled modules over the bundled scifact-static encoder
const docs = [
  { id: 'statins-cv', text: 'Statin therapy lowers LDL cholesterol and reduces major cardiovascular events.' },
  { id: 'statins-dm', text: 'Statin use is associated with an increased risk of new-onset type 2 diabetes.' },
];
const q = 'Statins reduce cardiovascular events but not statins increase the risk of diabetes.';
const bool = await BoolRetriever.fromDocs(docs, encoder);
const plain = new BoolRetriever(encoder.asBaseline(), bool.ids, bool.vectors);
console.log((await plain.search(q, { k: 2 })).map((h) => `${h.id} ${h.score.toFixed(3)}`).join(', '));
console.log((await bool.search(q, { k: 2 })).map((h) => `${h.id} ${h.score.toFixed(3)}`).join(', '));

const e = encoder.explain(q);
console.log(JSON.stringify(e.gates));
for (const c of e.cues) console.log(`${c.op} "${c.token}" (p ${c.prob}) -> ${c.scope.map((s) => s.token).join(' ')}`);
console.log(e.tokens.map((t) => `${t.token}:${t.weight.toFixed(2)}`).join(' '));
