import { bundledModelDir, loadEncoder } from '@quarry/encoders';
import { PgDenseRetriever, PgVectorStore } from '@quarry/store-pgvector';

const url = process.env['DATABASE_URL'] ?? 'postgres://postgres@localhost:5432/postgres';
const encoder = await loadEncoder(bundledModelDir());
const store = await PgVectorStore.open({ url, table: 'quickstart', dim: encoder.dim });
const retriever = new PgDenseRetriever(encoder, store);

const docs = [
  { id: 'd1', title: 'Vitamin D and bones', text: 'Vitamin D supplements reduce the risk of hip fractures in older adults.', meta: { year: 2019 } },
  { id: 'd2', title: 'Smoking', text: 'Smoking is the main cause of lung cancer; quitting lowers the risk.', meta: { year: 2021 } },
  { id: 'd3', title: 'Aspirin', text: 'Daily aspirin lowers the risk of a second heart attack.', meta: { year: 2023 } },
];
console.log(JSON.stringify(await retriever.sync(docs)));
console.log(JSON.stringify(await retriever.sync(docs))); // nothing changed: nothing encoded
await store.createIndex({ m: 16, efConstruction: 64 });

const show = (hits: { id: string; score: number }[]) => hits.map((h) => `${h.id} ${h.score.toFixed(4)}`).join(', ');
console.log(show(await retriever.search('Does vitamin D prevent fractures?', { k: 2 })));
console.log(show(await retriever.search('lower the risk', { k: 3, where: { year: { gte: 2020 } } })));
await store.drop();
await store.close();
