import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

describe('quarry drt passkey', () => {
  it('reports accuracy, time and peak memory as JSON for the bundled DRT, and the baseline fails past its window', async () => {
    const gca = await cli('drt', 'passkey', '--length', '8000', '--trials', '10', '--seed', '3', '--json');
    expect(gca.code).toBe(0);
    const r = JSON.parse(gca.out);
    expect(r).toMatchObject({ length: 8000, trials: 10, gca: true, seed: 3, task: 'plain', lookback: 8 });
    expect(r.accuracy).toBe(1);
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.peak_rss_mb).toBeGreaterThan(10);
    expect(r.inside.trials + r.crossing.trials).toBe(10);
    const base = JSON.parse((await cli('drt', 'passkey', '--length', '8000', '--trials', '10', '--seed', '3', '--no-gca', '--json')).out);
    expect(base.gca).toBe(false);
    expect(base.accuracy).toBe(0);
  });

  it('runs the distractor variants as standard tasks, with explicit counts on top', async () => {
    const r = JSON.parse((await cli('drt', 'passkey', '--length', '8000', '--trials', '10', '--seed', '3', '--task', 'decoys', '--json')).out);
    expect(r).toMatchObject({ task: 'decoys', distractors: { decoys: 20 }, trials: 10 });
    expect(r.accuracy).toBe(1);
    const custom = JSON.parse((await cli('drt', 'passkey', '--length', '4000', '--trials', '2', '--task', 'marked', '--decoys', '3', '--digit-rate', '0.02', '--json')).out);
    expect(custom).toMatchObject({ task: 'marked (custom)', distractors: { markedDecoys: 20, decoys: 3, digitRate: 0.02 } });
    expect((await cli('drt', 'passkey', '--length', '4000', '--task', 'needles')).err).toMatch(/--task must be one of plain, decoys, digits, marked/);
    expect((await cli('drt', 'passkey', '--length', '4000', '--digit-rate', '0.9')).code).toBe(2);
  });

  it('prints a readable report', async () => {
    const r = await cli('drt', 'passkey', '--length', '1000', '--trials', '3');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/accuracy\s+\d+\.\d% \(\d\/3\)/);
    expect(r.out).toMatch(/peak RSS\s+\d+/);
  });

  it('rejects a missing length, a bad subcommand and bad numbers as usage errors', async () => {
    expect((await cli('drt', 'passkey')).err).toMatch(/needs --length/);
    expect((await cli('drt', 'passkey')).code).toBe(2);
    expect((await cli('drt', 'needle', '--length', '100')).err).toMatch(/subcommand "passkey"/);
    expect((await cli('drt', 'passkey', '--length', '3')).code).toBe(2);
    const missing = await cli('drt', 'passkey', '--length', '100', '--weights', '/no/such/weights.json');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/NOT_FOUND/);
  });
});
