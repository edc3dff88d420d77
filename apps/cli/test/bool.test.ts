import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, useTemporaryCache } from './helpers.js';

const BENCH = join(__dirname, '../../../packages/bool-attn/benchmark/scifact-bool');

beforeAll(useTemporaryCache);

describe('bool pipelines and quarry bool explain', () => {
  it('evaluates bool and bool-baseline on the Boolean benchmark (figures of @quarry/bool-attn)', async () => {
    const run = async (pipeline: string) => {
      const r = await cli('eval', '--dataset', BENCH, '--split', 'test-not', '--pipeline', pipeline, '--json');
      expect(r.err).toBe('');
      return JSON.parse(r.out) as { metrics: Record<string, number> };
    };
    const base = await run('bool-baseline');
    const bool = await run('bool');
    expect(base.metrics['mrr@10']).toBeCloseTo(0.4182, 4);
    expect(bool.metrics['mrr@10']).toBeCloseTo(0.6858, 4);
    expect(bool.metrics['ndcg@10']).toBeCloseTo(0.7256, 4);
  });

  it('explains a query as JSON and as a table', async () => {
    const q = 'Statins reduce cardiovascular events but not statins increase the risk of diabetes.';
    const json = await cli('bool', 'explain', '--json', q);
    expect(json.code).toBe(0);
    const e = JSON.parse(json.out) as { cues: { op: string; token: string; scope: { token: string }[] }[]; tokens: { token: string; weight: number }[]; gates: Record<string, number> };
    expect(e.cues.some((c) => c.op === 'not' && c.token === 'not' && c.scope.some((s) => s.token === 'diabetes'))).toBe(true);
    expect(e.tokens.length).toBeGreaterThan(10);
    const text = await cli('bool', 'explain', q);
    expect(text.out).toMatch(/cue: +NOT "not"/);
    expect(text.out).toMatch(/S_not/);
    const bad = await cli('bool', 'explian', q);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/explain/);
  });
});
