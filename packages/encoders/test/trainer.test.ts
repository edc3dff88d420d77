import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCorpus } from '@quarry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContextualModel, OnnxEncoder, type StaticModel, readTrainingExamples, trainEncoder, type TrainProgress, type TrainEncoderOptions } from '../src/index.js';
import { BERT_TOKENIZER, SCIFACT, maxAbsDiff, tempDir } from './helpers.js';

let data: string;

/** 240 real (title -> abstract) pairs from SciFact, each with the next document as a negative. */
beforeAll(async () => {
  const docs: { title?: string; text: string }[] = [];
  for await (const d of readCorpus(join(SCIFACT, 'corpus.jsonl.gz'))) {
    if (d.title) docs.push(d);
    if (docs.length === 241) break;
  }
  const lines = docs.slice(0, 240).map((d, i) => JSON.stringify({ query: d.title, positive: d.text.slice(0, 600), negative_1: docs[i + 1]!.text.slice(0, 600) }));
  data = join(tempDir(), 'pairs.jsonl.gz');
  writeFileSync(data, gzipSync(lines.join('\n')));
});

const base = (): TrainEncoderOptions => ({ data, tokenizer: BERT_TOKENIZER, dim: 32, mrlDims: [8, 16], batchSize: 16, epochs: 2, lr: 0.02, seed: 5, maxLength: 96, init: 'random' });

function weightsOf(m: { model: unknown }): Float32Array {
  const model = m.model as StaticModel | ContextualModel;
  return model instanceof ContextualModel ? model.base.embeddings : model.embeddings;
}

describe('trainEncoder', () => {
  it('streams the sentence-transformers JSONL layout (and its variants)', async () => {
    const file = join(tempDir(), 'v.jsonl');
    writeFileSync(
      file,
      ['{"query":"q","positive":"p","negative_1":"n1","negative_2":"n2"}', '{"anchor":"a","positive":"p","negative":"n"}', '{"query":"q","positive":"p","negatives":["x","y"]}'].join('\n'),
    );
    const got = [];
    for await (const e of readTrainingExamples([file])) got.push(e);
    expect(got).toEqual([
      { query: 'q', positive: 'p', negatives: ['n1', 'n2'] },
      { query: 'a', positive: 'p', negatives: ['n'] },
      { query: 'q', positive: 'p', negatives: ['x', 'y'] },
    ]);
    writeFileSync(file, '{"query": 3}');
    await expect(async () => {
      for await (const e of readTrainingExamples([file])) void e;
    }).rejects.toThrow(/v\.jsonl:1: a training example needs string "query"/);
  });

  it('is deterministic, reports progress, and the loss goes down', async () => {
    const events: TrainProgress[] = [];
    const a = await trainEncoder({ ...base(), onProgress: (p) => events.push(p) });
    const b = await trainEncoder(base());
    expect(a.steps).toBe(30); // 240 examples / 16 per batch * 2 epochs
    expect(maxAbsDiff(weightsOf(a), weightsOf(b))).toBe(0);
    expect(a.losses).toEqual(b.losses);
    const train = events.filter((e) => e.phase === 'train');
    expect(train).toHaveLength(30);
    expect(train[29]).toMatchObject({ step: 30, totalSteps: 30, epoch: 1 });
    expect(train[0]!.lossPerDim).toHaveLength(3); // 8, 16, 32
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(a.losses.slice(-5))).toBeLessThan(0.7 * mean(a.losses.slice(0, 5)));
    const c = await trainEncoder({ ...base(), seed: 6 });
    expect(maxAbsDiff(weightsOf(a), weightsOf(c))).toBeGreaterThan(0);
  });

  it('resumes from a checkpoint to exactly the weights of an uninterrupted run', async () => {
    const full = await trainEncoder({ ...base(), init: 'ppmi' });
    const ckpt = join(tempDir(), 'ckpt');
    const first = await trainEncoder({ ...base(), init: 'ppmi', checkpointDir: ckpt, checkpointEvery: 4, maxSteps: 11 });
    expect(first.steps).toBe(11);
    const resumed = await trainEncoder({ ...base(), init: 'ppmi', checkpointDir: ckpt });
    expect(resumed.resumedFrom).toBe(11);
    expect(resumed.steps).toBe(30);
    expect(resumed.losses).toEqual(full.losses);
    expect(maxAbsDiff(weightsOf(resumed), weightsOf(full))).toBe(0);
    await expect(trainEncoder({ ...base(), init: 'ppmi', lr: 0.5, checkpointDir: ckpt })).rejects.toThrow(/different options or data/);
  });

  it('can be cancelled', async () => {
    const controller = new AbortController();
    const run = trainEncoder({ ...base(), signal: controller.signal, onProgress: (p) => p.step === 3 && controller.abort() });
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('trains the contextual model on top of a static one and saves a folder onnxruntime serves', async () => {
    const dir = tempDir();
    await trainEncoder({ ...base(), epochs: 1, out: join(dir, 'static'), precision: 'fp32' });
    const ctx = await trainEncoder({ ...base(), epochs: 1, model: 'contextual', init: join(dir, 'static'), hidden: 8, out: join(dir, 'ctx'), maxSteps: 6 });
    expect(ctx.model).toBeInstanceOf(ContextualModel);
    expect(ctx.losses.every(Number.isFinite)).toBe(true);
    const onnx = await OnnxEncoder.load(join(dir, 'ctx'));
    const texts = ['Vitamin D and tuberculosis', 'a second, longer text about T cells and cytokines'];
    const a = await ctx.encoder.encode(texts, { role: 'query' });
    const b = await onnx.encode(texts, { role: 'query' });
    expect(maxAbsDiff(a.data, b.data)).toBeLessThan(1e-5);
  });
});
