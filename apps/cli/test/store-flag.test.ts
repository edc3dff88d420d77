import { describe, expect, it } from 'vitest';
import type { PipelineConfig } from '@quarry/core';
import { routeToStore } from '../src/store-flag.js';

const dense = (): PipelineConfig => ({ name: 'dense', retrievers: [{ plugin: 'dense', options: {} }] }) as unknown as PipelineConfig;

describe('--store', () => {
  it("keys the Postgres tables by the dataset folder's name, so two corpora never share (and delete) one store", () => {
    const a = dense();
    routeToStore(a, { store: 'postgres://u@db/x', dataset: '/data/beir/scifact/' });
    expect(a.retrievers[0]).toEqual({ plugin: 'dense-pg', options: { collection: 'scifact' } });
    const b = dense();
    b.retrievers[0]!.options['collection'] = 'mine';
    routeToStore(b, { store: 'postgres://u@db/x', dataset: 'datasets/nfcorpus' });
    expect(b.retrievers[0]!.options['collection']).toBe('mine');
  });
});
