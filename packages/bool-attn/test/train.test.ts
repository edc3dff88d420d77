import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LEXICON_FEATURES, familiesOf, loadBoolModules, trainBoolModules } from '../src/index.js';

const BENCH = fileURLToPath(new URL('../benchmark/scifact-bool', import.meta.url));

describe('trainBoolModules', () => {
  it('is deterministic (same seed, same weights bit for bit) and learns (retrieval loss falls)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bool-train-'));
    const opts = { benchmark: BENCH, limitQueries: 3, epochs: [1, 2] as [number, number], batchSize: 8, candidates: 50, seed: 3 };
    const a = await trainBoolModules({ ...opts, out: join(root, 'a') });
    const b = await trainBoolModules({ ...opts, out: join(root, 'b') });
    expect(readFileSync(join(root, 'a', 'weights.f32')).equals(readFileSync(join(root, 'b', 'weights.f32')))).toBe(true);
    expect(a.examples).toBe(b.examples);
    expect(a.examples).toBeGreaterThan(20);
    expect(a.epochs.map((e) => e.phase)).toEqual(['pretrain', 'finetune', 'finetune']);
    expect(a.epochs[2]!.loss).toBeLessThan(a.epochs[1]!.loss);
    const { modules, meta } = await loadBoolModules(join(root, 'a'));
    expect(modules.size).toBe(a.parameters);
    expect(meta.base).toBe('scifact-static');
    // Trained on train phrasing families only: no held-out family is ever rendered for training.
    const trained = (meta.training as { trainFamilies: string[] }).trainFamilies;
    expect(trained.length).toBe(familiesOf('train').length);
    for (const f of familiesOf('heldout')) expect(trained).not.toContain(f.id);
    expect(modules.config.lexicon).toBe(LEXICON_FEATURES);
    const c = await trainBoolModules({ ...opts, epochs: [1, 0], seed: 4, out: join(root, 'c') });
    expect(readFileSync(join(root, 'a', 'weights.f32')).equals(readFileSync(join(root, 'c', 'weights.f32')))).toBe(false);
    expect(c.examples).toBe(a.examples);
  });
});
