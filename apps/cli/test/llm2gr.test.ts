import { beforeAll, describe, expect, it } from 'vitest';
import { cli, scifact, useTemporaryCache } from './helpers.js';

beforeAll(useTemporaryCache);

describe('llm2gr pipeline through the CLI (default scorer: corpus statistics, no LLM)', () => {
  it('search --json carries the generated titles, the prefix and the located passage', async () => {
    const r = await cli('search', '--dataset', scifact, '--pipeline', 'llm2gr', '--k', '3', '--json', '--quiet', 'Vitamin D deficiency is associated with multiple sclerosis.');
    expect(r.err).toBe('');
    const res = JSON.parse(r.out) as { hits: { id: string; title: string; explain: { titles: { title: string; score: number }[]; prefix: string | null; passage: string | null } }[] };
    expect(res.hits.length).toBeGreaterThan(0);
    const top = res.hits[0]!;
    expect(top.explain.titles.length).toBeGreaterThan(1);
    for (const t of top.explain.titles) expect(t).toEqual({ title: expect.any(String), score: expect.any(Number) });
    // The top hit is one of the two kept titles' documents, so it has a prefix and a passage.
    expect(top.explain.titles.slice(0, 2).map((t) => t.title)).toContain(top.title);
    expect(typeof top.explain.prefix).toBe('string');
    expect(top.explain.passage!.startsWith(top.explain.prefix!)).toBe(true);
  });

  it('prints the titles once and each hit its prefix and passage', async () => {
    const r = await cli('search', '--dataset', scifact, '--pipeline', 'llm2gr', '--k', '2', '--quiet', 'Vitamin D deficiency is associated with multiple sclerosis.');
    // Which first stage ran (titles here; passage prefixes on a corpus without titles), then the titles.
    expect(r.out).toMatch(/^mode: titles\ntitles:\n {2}- /);
    expect(r.out).toMatch(/\n {2}1\. .*\n {7}prefix: .+\n {7}passage: /);
  });

  it('rejects an unknown scorer and an onnx scorer without a model folder', async () => {
    const bad = await cli('search', '--dataset', scifact, '--pipeline', 'llm2gr', '--scorer', 'gpt', '--quiet', 'x');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/scorer/);
    const noModel = await cli('search', '--dataset', scifact, '--pipeline', 'llm2gr', '--scorer', 'onnx', '--no-cache', '--quiet', 'x');
    expect(noModel.code).not.toBe(0);
    expect(noModel.err).toMatch(/--model DIR/);
  });
});
