// One adapter per engine: build(docs, params) -> state, search(state, text, k) -> [{ id, score }].
// Every engine indexes title + text as one field (BEIR "flat") with English analysis
// (lowercase, stop words, stemming). `params` is 'same' (k1 = 0.9, b = 0.4 wherever the
// engine exposes them, Anserini's BEIR setting) or 'default' (the engine's own defaults).
import { createRequire } from 'node:module';
import { create, insertMultiple, search as oramaSearch } from '@orama/orama';
import MiniSearch from 'minisearch';
import { stemmer } from 'stemmer';
import { Bm25Index, ENGLISH_STOP_WORDS } from '@quarry/bm25';

const require = createRequire(import.meta.url);
const flat = (doc) => (doc.title ? `${doc.title} ${doc.text}` : doc.text);
const STOP = new Set(ENGLISH_STOP_WORDS);

export const engines = {
  quarry: {
    label: '@quarry/bm25 (this package)',
    config: "Lucene EnglishAnalyzer port; Lucene BM25 with lossy norms; defaults k1=0.9, b=0.4 (a 'default' run uses Lucene's own 1.2 / 0.75)",
    async build(docs, params) {
      return Bm25Index.build(docs, params === 'same' ? {} : { k1: 1.2, b: 0.75 });
    },
    async search(index, text, k) {
      return index.search(text, { k });
    },
    async searchBatch(index, texts, k) {
      return index.searchBatch(texts, { k });
    },
  },

  wink: {
    label: 'wink-bm25-text-search 3.1.2',
    config: 'prep tasks lowerCase, tokenize0, removeWords (wink stop words), stem (Porter2) from wink-nlp-utils 2.1.0; default k1=1.2, b=0.75',
    async build(docs, params) {
      const bm25 = require('wink-bm25-text-search');
      const nlp = require('wink-nlp-utils');
      const engine = bm25();
      engine.defineConfig({ fldWeights: { body: 1 }, ...(params === 'same' ? { bm25Params: { k1: 0.9, b: 0.4, k: 1 } } : {}) });
      engine.definePrepTasks([nlp.string.lowerCase, nlp.string.tokenize0, nlp.tokens.removeWords, nlp.tokens.stem]);
      for (const doc of docs) engine.addDoc({ body: flat(doc) }, doc.id);
      engine.consolidate();
      return engine;
    },
    async search(engine, text, k) {
      return engine.search(text, k).map(([id, score]) => ({ id, score }));
    },
  },

  minisearch: {
    label: 'minisearch 7.2.0',
    config: "default tokenizer; processTerm = lowercase, Lucene's 33 stop words, Porter (`stemmer`); BM25+ default k=1.2, b=0.7, d=0.5",
    async build(docs, params) {
      const ms = new MiniSearch({
        fields: ['body'],
        idField: 'id',
        processTerm: (term) => {
          const lower = term.toLowerCase();
          return STOP.has(lower) ? null : stemmer(lower);
        },
        ...(params === 'same' ? { searchOptions: { bm25: { k: 0.9, b: 0.4, d: 0.5 } } } : {}),
      });
      ms.addAll(docs.map((doc) => ({ id: doc.id, body: flat(doc) })));
      return ms;
    },
    async search(ms, text, k) {
      // MiniSearch has no limit option: it scores and sorts every match.
      return ms
        .search(text)
        .slice(0, k)
        .map((r) => ({ id: r.id, score: r.score }));
    },
  },

  orama: {
    label: '@orama/orama 3.1.18',
    config: "tokenizer language english, stemming on, Lucene's 33 stop words; BM25 default k=1.2, b=0.75, d=0.5",
    async build(docs, params) {
      const db = create({
        schema: { body: 'string' },
        components: { tokenizer: { language: 'english', stemming: true, stopWords: [...ENGLISH_STOP_WORDS] } },
      });
      await insertMultiple(
        db,
        docs.map((doc) => ({ id: doc.id, body: flat(doc) })),
        1000,
      );
      return { db, relevance: params === 'same' ? { k: 0.9, b: 0.4, d: 0.5 } : undefined };
    },
    async search({ db, relevance }, text, k) {
      const res = await oramaSearch(db, { term: text, properties: ['body'], limit: k, ...(relevance ? { relevance } : {}) });
      return res.hits.map((h) => ({ id: h.id, score: h.score }));
    },
  },
};
