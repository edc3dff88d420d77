import { ConfigError, MemoryDocStore, Pipeline, PluginRegistry, type Doc } from '@quarry/core';
import { Bm25Index, bm25Plugin } from '@quarry/bm25';
import { FakeOpenAIServer } from '@quarry/llm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExtractiveAnswers,
  LAMER_TEMPLATES,
  LameR,
  LameRDenseRetriever,
  LameRRetriever,
  LlmAnswers,
  lameROptionsSchema,
  augmentQuery,
  lamerPlugin,
  lamerRewriterPlugin,
  renderPrompt,
  splitSentences,
  truncateTokens,
  type AnswerSource,
} from '../src/index.js';

const docs: Doc[] = [
  { id: 'd1', title: 'Vitamin D and bones', text: 'Vitamin D supplements reduce the risk of hip fractures in older adults. The effect is larger with calcium.' },
  { id: 'd2', title: 'Smoking', text: 'Smoking is the main cause of lung cancer. Quitting lowers the risk within ten years.' },
  { id: 'd3', title: 'Aspirin', text: 'Daily aspirin lowers the risk of a second heart attack. Bleeding is the main side effect of aspirin.' },
  { id: 'd4', title: 'Calcium intake', text: 'Calcium intake alone does not prevent fractures in older women. Vitamin D status modifies this.' },
];

describe('prompt and augmentation', () => {
  it("renders the paper's prompt exactly", () => {
    expect(renderPrompt(LAMER_TEMPLATES.web, 'what causes lung cancer', ['Smoking is the main cause.', 'Aspirin lowers risk.'])).toBe(
      'Give a question "what causes lung cancer" and its possible answering passages (most of these passages are wrong) enumerated as: \n 1.Smoking is the main cause. \n 2.Aspirin lowers risk. \n please write a correct answering passage.',
    );
  });

  it('never re-expands placeholders found in the query or the passages', () => {
    expect(renderPrompt('Q: {query} C:{candidates}', 'a {candidates} b', ['x {query}'])).toBe('Q: a {candidates} b C: \n 1.x {query}');
  });

  it('builds q + a1 + q + a2 ... and repeats the query on request', () => {
    expect(augmentQuery('q  x', ['a1\nmore', '', 'a2'])).toBe('q x a1 more q x a2');
    expect(augmentQuery('q', ['a1', 'a2'], { queryRepeats: 2 })).toBe('q q a1 q q a2');
    expect(augmentQuery('q', [])).toBe('q');
  });

  it('keeps the query a fixed share of the augmented query (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,8}( [a-z]{1,8}){0,5}$/), { maxLength: 6 }), fc.integer({ min: 1, max: 3 }), (answers, r) => {
        const out = augmentQuery('zzq', answers, { queryRepeats: r });
        const count = out.split(' ').filter((t) => t === 'zzq').length;
        expect(count).toBe(answers.length === 0 ? 1 : answers.length * r);
      }),
    );
  });

  it('truncates candidates to whitespace tokens and splits sentences', () => {
    expect(truncateTokens(' a  b\nc d ', 3)).toBe('a b c');
    expect(splitSentences('One is here. Two (2) follows! e.g. not split. 3 starts.')).toEqual(['One is here.', 'Two (2) follows! e.g. not split.', '3 starts.']);
  });
});

describe('extractive source', () => {
  it('picks the sentences of the candidates with the most idf-weighted query overlap; it writes nothing new', async () => {
    const store = new MemoryDocStore(docs);
    const source = await ExtractiveAnswers.fromDocs(store, { selector: 'lexical' });
    expect(source.kind).toBe('extractive');
    const bm25 = await Bm25Index.build(docs);
    const lamer = new LameR(source, { candidates: 2, answers: 2 });
    const e = await lamer.expand({ id: 'q', text: 'vitamin D fractures' }, { retriever: bm25, docs: store });
    expect(e.candidates).toEqual(['d1', 'd4']);
    expect(e.answers).toEqual(['Vitamin D supplements reduce the risk of hip fractures in older adults.', 'Vitamin D status modifies this.']);
    expect(e.augmentedQuery).toBe(`vitamin D fractures ${e.answers[0]} vitamin D fractures ${e.answers[1]}`);
    const corpusText = docs.map((d) => `${d.title} ${d.text}`).join(' ');
    for (const a of e.answers) expect(corpusText).toContain(a);
  });

  it('rejects HyDE mode (no candidates to extract from) with a message that says what to do', async () => {
    await expect(lamerPlugin.create(lamerPlugin.schema.parse({ mode: 'hyde' }), { docs: new MemoryDocStore(docs) })).rejects.toThrow(/--generator openai/);
  });
});

describe('LameR against an OpenAI-compatible server (loopback)', () => {
  let server: FakeOpenAIServer;
  beforeAll(async () => {
    server = await FakeOpenAIServer.start({ reply: (_p, i) => `Vitamin D with calcium prevents fractures (sample ${i}).` });
  });
  afterAll(async () => server.close());

  it('runs the whole pipeline: BM25 top-M -> exact prompt -> n answers -> q a1 q a2 ... -> BM25', async () => {
    server.requests.length = 0;
    const registry = new PluginRegistry().register(bm25Plugin, lamerRewriterPlugin);
    const pipeline = await Pipeline.build(
      {
        name: 'lamer',
        retrievers: [{ plugin: 'bm25' }],
        rewriter: {
          plugin: 'lamer',
          options: { generator: 'openai', llmUrl: server.url, llmModel: 'fake-gpt', template: 'scientific', candidates: 2, answers: 3, candidateTokens: 6, temperature: 0.5, maxTokens: 64 },
        },
      },
      registry,
      { docs: new MemoryDocStore(docs) },
    );
    const hits = await pipeline.search({ id: 'q1', text: 'does vitamin D prevent fractures' }, { k: 3 });
    expect(server.requests).toHaveLength(1);
    const prompt =
      'Give a question "does vitamin D prevent fractures" and its possible scientific paper passages (most of these passages are wrong) enumerated as: \n 1.Calcium intake Calcium intake alone does \n 2.Vitamin D and bones Vitamin D \n please write a correct scientific paper passage.';
    expect(server.requests[0]!.body).toEqual({ model: 'fake-gpt', messages: [{ role: 'user', content: prompt }], n: 3, temperature: 0.5, max_tokens: 64 });
    const lamer = hits[0]!.explain!['lamer'] as { prompt: string; answers: string[]; augmentedQuery: string; candidates: string[]; generatorKind: string };
    expect(lamer.prompt).toBe(prompt);
    expect(lamer.candidates).toEqual(['d4', 'd1']);
    expect(lamer.answers).toEqual([0, 1, 2].map((i) => `Vitamin D with calcium prevents fractures (sample ${i}).`));
    expect(lamer.generatorKind).toBe('llm');
    const q = 'does vitamin D prevent fractures';
    expect(lamer.augmentedQuery).toBe(lamer.answers.map((a) => `${q} ${a}`).join(' '));
    // The second round is BM25 with exactly that query.
    const bm25 = await Bm25Index.build(docs);
    expect(hits.map((h) => [h.id, h.score])).toEqual((await bm25.search(lamer.augmentedQuery, { k: 3 })).map((h) => [h.id, h.score]));
  });

  it('HyDE mode sends HyDE prompt without candidates', async () => {
    server.requests.length = 0;
    const source = (await lamerRewriterPlugin.create(lamerRewriterPlugin.schema.parse({ mode: 'hyde', generator: 'openai', llmUrl: server.url, llmModel: 'm', template: 'scientific' }), {
      docs: new MemoryDocStore(docs),
    })) as LameR;
    const e = await source.expand({ id: 'q', text: 'aspirin prevents heart attacks' }, { docs: new MemoryDocStore(docs) });
    expect(e.candidates).toEqual([]);
    expect(e.prompt).toBe('Please write a scientific paper passage to support/refute the claim.\nClaim: aspirin prevents heart attacks\nPassage:');
    expect(e.answers).toHaveLength(5);
  });

  it('expands the queries of a batch concurrently, results in query order', async () => {
    server.requests.length = 0;
    server.maxInFlight = 0;
    server.fail(...Array.from({ length: 6 }, () => ({ kind: 'slow' as const, delayMs: 30 })));
    const store = new MemoryDocStore(docs);
    const r = (await lamerPlugin.create(lamerPlugin.schema.parse({ generator: 'openai', llmUrl: server.url, llmModel: 'm', concurrency: 3, answers: 1 }), { docs: store })) as LameRRetriever;
    const queries = ['vitamin D', 'smoking', 'aspirin', 'calcium', 'fractures', 'heart attack'].map((text, i) => ({ id: `q${i}`, text }));
    const batch = await r.searchBatch(queries, { k: 2 });
    expect(server.maxInFlight).toBe(3);
    for (const [i, hits] of batch.entries()) expect((hits[0]!.explain!['lamer'] as { augmentedQuery: string }).augmentedQuery.startsWith(`${queries[i]!.text} Vitamin D`)).toBe(true);
    await server.idle();
  });

  it('the retriever plugin keeps the paper pipeline (no fusion) for an LLM and names an unreachable server', async () => {
    const store = new MemoryDocStore(docs);
    const r = (await lamerPlugin.create(lamerPlugin.schema.parse({ generator: 'openai', llmUrl: server.url, llmModel: 'm' }), { docs: store })) as LameRRetriever;
    expect(r.options.fuse).toBeUndefined();
    const down = (await lamerPlugin.create(lamerPlugin.schema.parse({ generator: 'openai', llmUrl: 'http://127.0.0.1:9/v1', llmModel: 'm', retries: 0 }), { docs: store })) as LameRRetriever;
    await expect(down.search('x')).rejects.toThrow(/^POST http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions failed after 1 attempt: network error/);
  });
});

describe('LameRRetriever fusion', () => {
  it('fuses the two rounds by RRF and carries the trace on every hit', async () => {
    const store = new MemoryDocStore(docs);
    const bm25 = await Bm25Index.build(docs);
    const fixed: AnswerSource = { name: 'fixed', kind: 'extractive', answers: async () => ['Aspirin lowers the risk of a second heart attack.'] };
    const r = new LameRRetriever(new LameR(fixed, { candidates: 1, answers: 1 }), bm25, store, { fuse: { k: 60 } });
    const hits = await r.search('smoking cancer', { k: 4 });
    const first = (await bm25.search('smoking cancer', { k: 1000 })).map((h) => h.id);
    const second = (await bm25.search('smoking cancer Aspirin lowers the risk of a second heart attack.', { k: 1000 })).map((h) => h.id);
    const rrf = (id: string) => (first.includes(id) ? 1 / (61 + first.indexOf(id)) : 0) + (second.includes(id) ? 1 / (61 + second.indexOf(id)) : 0);
    const expected = [...new Set([...first, ...second])].sort((a, b) => rrf(b) - rrf(a) || 0);
    expect(hits.map((h) => h.id)).toEqual(expected.slice(0, 4));
    for (const h of hits) expect((h.explain!['lamer'] as { answers: string[] }).answers).toHaveLength(1);
  });
});

describe('dense variant and options', () => {
  /** A deterministic test encoder: one-hot bag of the words "a".."d" (enough to check the arithmetic). */
  const vocab = ['a', 'b', 'c', 'd'];
  const bag = {
    dim: 4,
    async encode(texts: readonly string[]) {
      const data = new Float32Array(texts.length * 4);
      texts.forEach((t, i) =>
        t
          .toLowerCase()
          .split(/[^a-z]+/)
          .forEach((w) => {
            const j = vocab.indexOf(w);
            if (j >= 0) data[i * 4 + j] = data[i * 4 + j]! + 1;
          }),
      );
      return { rows: texts.length, cols: 4, data };
    },
  };

  it('uses mean_i (Enc(q) + Enc(a_i)) / 2 of normalised vectors and searches exactly', async () => {
    const store = new MemoryDocStore([
      { id: 'x', text: 'a' },
      { id: 'y', text: 'b' },
      { id: 'z', text: 'c c d' },
    ]);
    const fixed: AnswerSource = { name: 'fixed', kind: 'extractive', answers: async () => ['b', 'c'] };
    const first = await Bm25Index.build([...store]);
    const r = await LameRDenseRetriever.build(new LameR(fixed, { answers: 2 }), bag, first, store);
    const v = await r.queryVector('a', ['b', 'c']);
    expect([...v]).toEqual([0.5, 0.25, 0.25, 0]);
    const hits = await r.search('a', { k: 3 });
    expect(hits.map((h) => h.id)).toEqual(['x', 'y', 'z']);
    expect(hits[0]!.score).toBeCloseTo(0.5, 6);
    expect(hits[2]!.score).toBeCloseTo(0.25 * (2 / Math.sqrt(5)), 6);
    expect((hits[0]!.explain!['lamer'] as { answers: string[] }).answers).toEqual(['b', 'c']);
    expect([...(await r.queryVector('a', []))]).toEqual([1, 0, 0, 0]);
  });

  it('the dense selector picks the sentences nearest the query under the encoder', async () => {
    const store = new MemoryDocStore([{ id: 'p', text: 'D d d d d. A a a a b. C c c c c.' }]);
    const src = await ExtractiveAnswers.fromDocs(store, { selector: 'dense', encoder: bag, minTokens: 1 });
    const out = await src.answers({ query: { id: 'q', text: 'a b' }, prompt: '', candidates: [{ id: 'p', rank: 0, score: 1, doc: store.get('p')!, text: '' }], n: 2 });
    expect(out[0]).toBe('A a a a b.');
    expect(out).toHaveLength(2);
  });

  it('rejects unknown options with a suggestion in every constructor and factory (issue #15 item 13)', async () => {
    const fixed: AnswerSource = { name: 'fixed', kind: 'extractive', answers: async () => [] };
    const store = new MemoryDocStore(docs);
    const suggestion = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as ConfigError).issues[0]?.suggestion;
      }
      return undefined;
    };
    expect(suggestion(() => new LameR(fixed, { answer: 2 } as never))).toBe('answers');
    const bm25 = await Bm25Index.build(docs);
    expect(suggestion(() => new LameRRetriever(new LameR(fixed), bm25, store, { fuse: { dept: 10 } } as never))).toBe('depth');
    expect(suggestion(() => new LlmAnswers({ name: 'g', generate: async () => [] }, { max_tokens: 9 } as never))).toBe('maxTokens');
    await expect(ExtractiveAnswers.fromDocs(store, { selecter: 'lexical' } as never)).rejects.toThrow(/selecter.*did you mean "selector"/);
    await expect(
      LameRDenseRetriever.build(new LameR(fixed), { dim: 1, encode: async () => ({ rows: 0, cols: 1, data: new Float32Array() }) }, bm25, store, { paralel: 2 } as never),
    ).rejects.toBeInstanceOf(ConfigError);
    // The plugin schema and the class share one definition of these keys.
    expect(lameROptionsSchema.shape.answers).toBe((lamerPlugin.schema as unknown as { shape: Record<string, unknown> }).shape['answers']);
  });

  it('validates options with messages that say what to change', async () => {
    const fixed: AnswerSource = { name: 'fixed', kind: 'extractive', answers: async () => [] };
    expect(() => new LameR(fixed, { answers: 0 })).toThrow(/answers must be an integer >= 1/);
    expect(() => new LameR(fixed, { template: 'legal' })).toThrow(/Unknown prompt "legal": use one of web, scientific, counter-argument, financial/);
    expect(() => new LameR(fixed, { template: 'Answer {query}' })).toThrow(/\{candidates\} placeholder/);
    expect(new LameR(fixed, { template: 'Answer {query}', candidates: 0 }).m).toBe(0);
    expect(() => lamerPlugin.schema.parse({ apiKey: 'sk-x' })).toThrow();
    const noModel = lamerPlugin.create(lamerPlugin.schema.parse({ generator: 'openai', llmUrl: 'http://127.0.0.1:9/v1' }), { docs: new MemoryDocStore(docs) });
    if (process.env['QUARRY_LLM_MODEL'] === undefined && process.env['OPENAI_MODEL'] === undefined) await expect(noModel).rejects.toThrow(/--llm-model/);
    else await noModel;
  });
});
