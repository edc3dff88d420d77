import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RaggedMatrix, docText, loadSplit, openBeirDataset, readCorpus } from '@quarry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TransformerModel, type TransformerConfig } from '../src/transformer/model.js';
import { trainTransformer, type TrainTransformerOptions } from '../src/transformer/train.js';
import { BERT_TOKENIZER, SCIFACT, tempDir } from './helpers.js';

// Real training pairs: SciFact *train* queries and their relevant abstracts (negative: the next judged abstract of another query).
let data = '';
beforeAll(async () => {
  const { queries, qrels } = await loadSplit(openBeirDataset(SCIFACT), 'train');
  const texts = new Map<string, string>();
  for await (const d of readCorpus(join(SCIFACT, 'corpus.jsonl.gz'))) texts.set(d.id, docText(d).slice(0, 400));
  const lines: string[] = [];
  const positives = queries.map((q) => [...(qrels.get(q.id)?.keys() ?? [])][0]).filter((id): id is string => id !== undefined);
  queries.slice(0, 120).forEach((q, i) => {
    const pos = positives[i];
    const neg = positives[(i + 7) % positives.length];
    if (pos && neg && pos !== neg) lines.push(JSON.stringify({ query: q.text, positive: texts.get(pos), negative_1: texts.get(neg) }));
  });
  data = join(tempDir(), 'pairs.jsonl');
  writeFileSync(data, `${lines.join('\n')}\n`);
});

const config: TransformerConfig = { hidden: 32, layers: 2, heads: 2, intermediate: 64, colbertDim: 16, layerNormEps: 1e-12, vocabSize: 30522, maxPositions: 64, typeVocabSize: 2 };

function run(extra: Partial<TrainTransformerOptions> = {}): { model: TransformerModel; done: ReturnType<typeof trainTransformer> } {
  const model = TransformerModel.init(config, { seed: 9 });
  const done = trainTransformer({ model, data: [data], tokenizerDir: BERT_TOKENIZER, steps: 6, batchSize: 8, lr: 1e-3, seed: 4, threads: 1, maxDocLength: 48, maxQueryLength: 24, ...extra });
  return { model, done };
}

function snapshot(m: TransformerModel): Buffer {
  return Buffer.concat(m.params().map((p) => Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength)));
}

describe('trainTransformer', () => {
  it('is bit-for-bit reproducible from the seed (same data, same thread count)', async () => {
    const a = run();
    const b = run();
    const [ra, rb] = [await a.done, await b.done];
    expect(ra.losses).toEqual(rb.losses);
    expect(snapshot(a.model).equals(snapshot(b.model))).toBe(true);
    // And training did change the weights.
    expect(snapshot(a.model).equals(snapshot(TransformerModel.init(config, { seed: 9 })))).toBe(false);
    expect(ra.flopsPerStep).toBeGreaterThan(0);
  }, 120_000);

  it('resumes from a checkpoint exactly where an uninterrupted run would be', async () => {
    const straight = run();
    await straight.done;
    const dir = join(tempDir(), 'ckpt');
    const abort = new AbortController();
    const first = run({
      checkpointDir: dir,
      checkpointEvery: 3,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.phase === 'checkpoint' && p.step === 3) abort.abort();
      },
    });
    await expect(first.done).rejects.toThrow();
    expect(existsSync(join(dir, 'manifest.json'))).toBe(true);
    const curve = join(tempDir(), 'curve.svg');
    let evals = 0;
    const second = run({ checkpointDir: dir, checkpointEvery: 3, curveFile: curve, evalEvery: 3, evaluate: async () => ++evals });
    const r = await second.done;
    expect(r.resumedFrom).toBe(3);
    expect(r.losses).toEqual((await straight.done).losses);
    expect(snapshot(second.model).equals(snapshot(straight.model))).toBe(true);
    // The picture: an SVG with the loss and dev panels.
    const svg = readFileSync(curve, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('training loss');
    expect(svg).toContain('dev metric');
    expect(r.dev).toEqual([{ step: 6, value: 1 }]);
  }, 120_000);

  it('trains the ColBERT head through an injected token loss (ragged rows without padding)', async () => {
    const seen: number[] = [];
    // 0.5 * sum of squared token vectors: its gradient is the vectors themselves.
    const colbertLoss = ({ queries, docs }: { queries: RaggedMatrix; docs: RaggedMatrix }) => {
      seen.push(queries.offsets.length - 1, docs.offsets.length - 1, queries.data.length / queries.dim);
      const half = (m: RaggedMatrix): number => m.data.reduce((a, v) => a + 0.5 * v * v, 0);
      return { loss: half(queries) + half(docs), gradQueries: Float64Array.from(queries.data), gradDocs: Float64Array.from(docs.data) };
    };
    const init = TransformerModel.init(config, { seed: 9 }).dense.get('colbert.w')!;
    const without = run({ steps: 1 });
    await without.done;
    expect(Buffer.from(without.model.dense.get('colbert.w')!.buffer).equals(Buffer.from(init.buffer))).toBe(true);
    const withLoss = run({ steps: 1, colbertLoss });
    const r = await withLoss.done;
    expect(Buffer.from(withLoss.model.dense.get('colbert.w')!.buffer).equals(Buffer.from(init.buffer))).toBe(false);
    // 8 queries, 8 positives + 8 negatives; query rows = real tokens only (<= 24 each, > 2 each).
    expect(seen.slice(0, 2)).toEqual([8, 16]);
    expect(seen[2]).toBeGreaterThan(8 * 2);
    expect(seen[2]).toBeLessThanOrEqual(8 * 24);
    expect(r.losses[0]).toBeGreaterThan((await without.done).losses[0]!);
  }, 120_000);
});
