import { describe, expect, it } from 'vitest';
import { CorpusStatsScorer, FmIndex, Llm2grIndex, Llm2grRetriever, OnnxCausalLm, TokenizerCodec, constrainedBeamSearch, llm2grGenerationShape, llm2grPlugin } from '../src/index.js';
import { configSuggestion as suggestion } from '../../../tools/testing/config-error.js';

describe('llm2gr options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion in every public constructor and factory', async () => {
    const codec = TokenizerCodec.fromDir();
    const docs = [
      { id: 'a', title: 'Cats', text: 'cats purr softly' },
      { id: 'b', title: 'Dogs', text: 'dogs bark' },
    ];
    expect(await suggestion(() => Llm2grIndex.build(docs, codec, { sampleRat: 4 } as never))).toBe('sampleRate');
    const index = Llm2grIndex.build(docs, codec, { sampleRate: 4 });
    const scorer = new CorpusStatsScorer(codec, index.fm, { trie: index.trie });
    expect(await suggestion(() => new Llm2grRetriever(index, scorer, { titlebeam: 3 } as never))).toBe('titleBeam');
    expect(await suggestion(() => new CorpusStatsScorer(codec, index.fm, { titleWeigth: 3 } as never))).toBe('titleWeight');
    expect(await suggestion(() => FmIndex.build([[1, 2]], { samplerate: 2 } as never))).toBe('sampleRate');
    expect(await suggestion(() => OnnxCausalLm.load('/no/such', { thread: 1 } as never))).toBe('threads');
    // Checked before the scorer or the constraint is used.
    expect(await suggestion(() => constrainedBeamSearch(scorer, [], undefined as never, undefined, { beamSize: 2, maxTokens: 4, endTokne: 1 } as never))).toBe('endToken');
    // The plugin's generation options are the retriever's: one definition.
    expect((llm2grPlugin.schema as unknown as { shape: Record<string, unknown> }).shape['titleBeam']).toBe(llm2grGenerationShape.titleBeam);
  });
});
