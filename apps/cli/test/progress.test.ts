import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDocStore } from '@quarry/core';
import { densePlugin } from '@quarry/encoders';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { progressBar } from '../src/progress.js';
import { cli, scifact, useTemporaryCache } from './helpers.js';

/** A progress reporter writing into an array, on a clock the test moves. */
function capture(options: { tty: boolean; intervalMs?: number; enabled?: boolean }) {
  const lines: string[] = [];
  let t = 1_000;
  const bar = progressBar(options.enabled ?? true, { tty: options.tty, intervalMs: options.intervalMs ?? 2000, stream: { write: (s: string) => lines.push(s) }, now: () => t });
  return { bar, lines, tick: (ms: number) => (t += ms) };
}

describe('progress when stderr is not a terminal', () => {
  it('prints plain lines (phase, done/total, rate) at most once per interval, and one line per finished phase', () => {
    const { bar, lines, tick } = capture({ tty: false });
    bar({ phase: 'encode', done: 0, total: 5183 });
    tick(500);
    bar({ phase: 'encode', done: 640, total: 5183 }); // within the interval: not printed
    tick(1600);
    bar({ phase: 'encode', done: 1200, total: 5183 });
    tick(2000);
    bar({ phase: 'encode', done: 5183, total: 5183 });
    bar({ phase: 'index', done: 10 });
    tick(1000);
    bar.done();
    expect(lines).toEqual(['encode 0/5183 0%\n', 'encode 1200/5183 23% 571/s ETA 7s\n', 'encode done 5183/5183 in 4.1s (1264/s)\n', 'index 10\n', 'index done 10 in 1.0s (10/s)\n']);
    expect(lines.join('')).not.toMatch(/\r/);
  });

  it('a phase that changes before its total closes with its last count', () => {
    const { bar, lines, tick } = capture({ tty: false, intervalMs: 0 });
    bar({ phase: 'load', done: 50, total: 100 });
    tick(1000);
    bar({ phase: 'index', done: 1, total: 1 });
    expect(lines).toEqual(['load 50/100 50%\n', 'load done 50/100 in 1.0s (50/s)\n', 'index done 1/1 in 0.0s (0/s)\n']);
  });

  it('keeps the redrawn bar on a terminal, and --quiet (enabled false) silences both', () => {
    const tty = capture({ tty: true });
    tty.bar({ phase: 'encode', done: 5, total: 10 });
    tty.bar.done();
    expect(tty.lines.join('')).toMatch(/^\rencode\s+\[#{15}\.{15}\]\s+50% 5\/10 0\/s\s+\n$/);
    for (const mode of [true, false]) {
      const quiet = capture({ tty: mode, enabled: false });
      quiet.bar({ phase: 'encode', done: 5, total: 10 });
      quiet.bar.done();
      expect(quiet.lines).toEqual([]);
    }
  });
});

describe('progress of the dense plugin (issue #15 item 17)', () => {
  it('announces the model load and the encode phase before the first batch is done, so a pipe is not silent meanwhile', async () => {
    const { bar, lines } = capture({ tty: false });
    const events: { phase: string; done: number; total?: number }[] = [];
    const docs = new MemoryDocStore(['cats purr', 'dogs bark', 'espresso coffee', 'tea leaves', 'green tea'].map((text, i) => ({ id: `d${i}`, text })));
    const onProgress = (e: (typeof events)[number]) => {
      events.push(e);
      bar(e);
    };
    await densePlugin.create(densePlugin.schema.parse({ batchSize: 2 }), { docs, onProgress });
    bar.done();
    expect(events.slice(0, 3)).toEqual([
      { phase: 'load model', done: 0, total: 1 },
      { phase: 'load model', done: 1, total: 1 },
      { phase: 'encode', done: 0, total: 5 },
    ]);
    expect(events.slice(3).map((e) => e.done)).toEqual([2, 4, 5]);
    // Each phase's start prints one line (the clock does not move, so later batches stay within the interval).
    expect(lines).toEqual(['load model 0/1 0%\n', 'load model done 1/1 in 0.0s (0/s)\n', 'encode 0/5 0%\n', 'encode done 5/5 in 0.0s (0/s)\n']);
  });
});

describe('quarry mine with stderr piped', () => {
  beforeAll(() => useTemporaryCache());
  afterEach(() => {
    vi.restoreAllMocks();
    delete process.env['QUARRY_PROGRESS_INTERVAL_MS'];
  });

  it('prints plain progress lines on stderr, keeps --json stdout clean, and --quiet silences them', async () => {
    const isTTY = process.stderr.isTTY;
    process.stderr.isTTY = false;
    process.env['QUARRY_PROGRESS_INTERVAL_MS'] = '0';
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'quarry-progress-'));
      const args = ['mine', '--dataset', scifact, '--teacher', 'bm25', '--method', 'naive', '--depth', '10', '--json'];
      const r = await cli(...args, '--out', join(dir, 'a.jsonl'));
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toHaveProperty('queries', 809);
      const lines = written.join('').split('\n');
      expect(lines.some((l) => /^mine \d+\/809 \d+%/.test(l))).toBe(true);
      expect(lines).toContainEqual(expect.stringMatching(/^mine done 809\/809 in \d+\.\ds \(\d+\/s\)$/));
      written.length = 0;
      expect((await cli(...args, '--out', join(dir, 'b.jsonl'), '--quiet')).code).toBe(0);
      expect(written).toEqual([]);
    } finally {
      process.stderr.isTTY = isTTY;
    }
  });
});
