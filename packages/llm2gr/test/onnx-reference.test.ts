import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxCausalLm } from '../src/index.js';

/**
 * Parity with transformers on random-weight causal LMs exported by
 * tools/reference/causal_lm.py (GPT-2 split / combined / merged-decoder / float16 logits,
 * Llama with grouped-query attention and a BOS-adding tokenizer). reference.json holds
 * transformers' log-softmax after the prompt and after each of 12 further tokens.
 */
const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'reference');

interface Reference {
  bosInPrompt: boolean;
  vocab: number;
  cases: { prompt: string; ids: number[]; bareIds: number[]; walk: number[]; logProbs: number[][] }[];
}

function reference(name: string): Reference {
  return JSON.parse(readFileSync(join(ROOT, name, 'reference.json'), 'utf8')) as Reference;
}

function maxAbsDiff(a: Float32Array, b: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// onnxruntime-python on the same exports is within 9e-8 of transformers (float32 through the
// whole graph; Quarry measured 3e-7); float16 logits round to about 3 significant digits (measured 2e-4).
const TOLERANCE: Record<string, number> = { 'gpt2-split': 1e-5, 'gpt2-combined': 1e-5, 'gpt2-merged': 1e-5, 'llama-split': 1e-5, 'gpt2-fp16-logits': 1e-3 };
const opened: OnnxCausalLm[] = [];
async function open(name: string, options: Parameters<typeof OnnxCausalLm.load>[1] = {}): Promise<OnnxCausalLm> {
  const lm = await OnnxCausalLm.load(join(ROOT, name), { threads: 1, ...options });
  opened.push(lm);
  return lm;
}
afterAll(async () => {
  for (const lm of opened) await lm.close();
});

describe.each(Object.keys(TOLERANCE))('OnnxCausalLm matches transformers: %s', (name) => {
  const ref = reference(name);
  const tol = TOLERANCE[name]!;

  it('encodes the prompts as the tokenizers library does, and adds BOS as transformers does', async () => {
    const lm = await open(name);
    for (const c of ref.cases) {
      expect(lm.encode(c.prompt)).toEqual(c.bareIds);
      expect([...lm.bosIds, ...c.bareIds]).toEqual(c.ids);
    }
    expect(lm.bosIds.length > 0).toBe(ref.bosInPrompt);
  });

  it('log-probabilities over 12 cached beam steps equal a full transformers run', async () => {
    const lm = await open(name);
    let worst = 0;
    for (const c of ref.cases) {
      for (let t = 0; t <= c.walk.length; t++) {
        const [lp] = await lm.nextTokenLogProbs([[...c.bareIds, ...c.walk.slice(0, t)]]);
        worst = Math.max(worst, maxAbsDiff(lp!, c.logProbs[t]!));
      }
    }
    expect(worst).toBeLessThan(tol);
    // One full prompt run per case, then one token per step from the cache.
    expect(lm.stats.cacheHits).toBe(ref.cases.length * 12);
    expect(lm.stats.tokens).toBe(ref.cases.reduce((n, c) => n + c.ids.length + 12, 0));
  });

  it('batched beams (all cases at once, each step one call) give the same numbers', async () => {
    const lm = await open(name);
    let worst = 0;
    for (let t = 0; t <= 12; t++) {
      const lps = await lm.nextTokenLogProbs(ref.cases.map((c) => [...c.bareIds, ...c.walk.slice(0, t)]));
      ref.cases.forEach((c, i) => (worst = Math.max(worst, maxAbsDiff(lps[i]!, c.logProbs[t]!))));
    }
    expect(worst).toBeLessThan(tol);
  });
});

describe('OnnxCausalLm cache behaviour (reference GPT-2, split past)', () => {
  const ref = reference('gpt2-split');

  it('a call with more prefixes than the cache holds does not lose the states it needs', async () => {
    const lm = await open('gpt2-split', { cacheEntries: 2 });
    const c = ref.cases[0]!;
    const parents = Array.from({ length: 8 }, (_, i) => [...c.bareIds, i + 1]);
    await lm.nextTokenLogProbs(parents); // 8 states written, only 2 kept
    // Children of the two kept parents plus cold ones, in one call: cold runs write states
    // that evict the kept parents while the call is under way.
    const children = parents.map((p, i) => [...p, 100 + i]);
    const got = await lm.nextTokenLogProbs(children);
    const fresh = await open('gpt2-split', { cacheEntries: 0 });
    const want = await fresh.nextTokenLogProbs(children);
    for (let i = 0; i < children.length; i++) expect(maxAbsDiff(got[i]!, Array.from(want[i]!))).toBeLessThan(1e-5);
  });

  it('reading a state refreshes it, so the one in use is not the one evicted', async () => {
    const lm = await open('gpt2-split', { cacheEntries: 2 });
    const base = ref.cases[1]!.bareIds;
    await lm.nextTokenLogProbs([[...base, 1]]); // state A
    await lm.nextTokenLogProbs([[...base, 2]]); // state B (A is older)
    await lm.nextTokenLogProbs([[...base, 1, 3]]); // reads A: A is now the newest, writes C, evicts B
    const before = lm.stats.cacheHits;
    await lm.nextTokenLogProbs([[...base, 1, 4]]);
    expect(lm.stats.cacheHits).toBe(before + 1);
  });

  it('a prefix several tokens past a cached one runs only the missing tokens', async () => {
    const lm = await open('gpt2-split');
    const c = ref.cases[2]!;
    await lm.nextTokenLogProbs([c.bareIds]);
    const tokens = lm.stats.tokens;
    const [lp] = await lm.nextTokenLogProbs([[...c.bareIds, ...c.walk.slice(0, 5)]]);
    expect(lm.stats.tokens - tokens).toBe(5);
    expect(maxAbsDiff(lp!, c.logProbs[5]!)).toBeLessThan(1e-5);
  });

  it('fetches the logits of the last position only (the graph is cut after the LM head)', async () => {
    const c = ref.cases[0]!;
    const lm = await open('gpt2-split');
    const [lp] = await lm.nextTokenLogProbs([c.bareIds]);
    expect(lm.stats.logitValues).toBe(ref.vocab);
    const all = await open('gpt2-split', { lastLogitsOnly: false });
    const [same] = await all.nextTokenLogProbs([c.bareIds]);
    expect(all.stats.logitValues).toBe(ref.vocab * c.bareIds.length);
    expect(maxAbsDiff(lp!, Array.from(same!))).toBeLessThan(1e-6);
  });

  it('BOS can be switched off, and then scores differ from the BOS-prefixed reference', async () => {
    const lm = await open('llama-split', { addBos: false });
    expect(lm.bosIds).toEqual([]);
    const c = reference('llama-split').cases[0]!;
    const [lp] = await lm.nextTokenLogProbs([c.bareIds]);
    expect(maxAbsDiff(lp!, c.logProbs[0]!)).toBeGreaterThan(1e-3);
  });
});
