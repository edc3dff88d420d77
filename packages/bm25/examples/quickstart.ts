import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bm25Index } from '@quarry/bm25';

const index = await Bm25Index.build([
  { id: 'd1', title: 'Vitamin D and bones', text: 'Vitamin D supplements reduce the risk of hip fractures in older adults.' },
  { id: 'd2', title: 'Smoking', text: 'Smoking is the main cause of lung cancer; quitting lowers the risk.' },
  { id: 'd3', title: 'Aspirin', text: 'Daily aspirin lowers the risk of a second heart attack.' },
]);

const show = (hits: { id: string; score: number }[]) => hits.map((h) => `${h.id} ${h.score.toFixed(4)}`).join(', ');
console.log(show(await index.search('Does vitamin D prevent fractures?', { k: 2 })));
console.log(show(await index.search('risk', { k: 3 })));

index.delete('d2');
index.add({ id: 'd4', text: 'Hip fractures after falls: the role of exercise.' });
console.log(show(await index.search('hip fractures')));

const dir = join(mkdtempSync(join(tmpdir(), 'bm25-')), 'index');
await index.save(dir);
const loaded = await Bm25Index.load(dir);
console.log(show(await loaded.search('hip fractures')), JSON.stringify(loaded.stats()));
