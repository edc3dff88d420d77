import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Semaphore, cacheKey, canonicalJson } from '../src/index.js';

describe('Semaphore (property)', () => {
  it('never lets more than `limit` holders in, serves everyone, and survives aborted waiters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.record({ hold: fc.integer({ min: 0, max: 3 }), abort: fc.boolean() }), { minLength: 1, maxLength: 25 }), async (limit, tasks) => {
        const sem = new Semaphore(limit);
        let active = 0;
        let peak = 0;
        let served = 0;
        let aborted = 0;
        await Promise.all(
          tasks.map(async (t) => {
            const controller = new AbortController();
            if (t.abort) queueMicrotask(() => controller.abort());
            let release: () => void;
            try {
              release = await sem.acquire(controller.signal);
            } catch {
              aborted++;
              return;
            }
            active++;
            peak = Math.max(peak, active);
            for (let i = 0; i < t.hold; i++) await Promise.resolve();
            active--;
            served++;
            release();
            release(); // releasing twice is harmless
          }),
        );
        expect(peak).toBeLessThanOrEqual(limit);
        expect(served + aborted).toBe(tasks.length);
        expect(sem.active).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('cache keys (property)', () => {
  const json = fc.jsonValue();
  it('ignore key order and undefined fields, and change with any value', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 6 }), (body) => {
        const reversed = Object.fromEntries(Object.entries(body).reverse());
        const parts = { endpoint: 'http://h/v1/chat/completions', model: 'm', body };
        expect(cacheKey({ ...parts, body: { ...reversed, absent: undefined } })).toBe(cacheKey(parts));
        expect(cacheKey({ ...parts, body: { ...body, __extra: 1 } })).not.toBe(cacheKey(parts));
        expect(cacheKey({ ...parts, model: 'm2' })).not.toBe(cacheKey(parts));
        expect(cacheKey({ ...parts, salt: 's' })).not.toBe(cacheKey(parts));
        expect(JSON.parse(canonicalJson(body))).toEqual(JSON.parse(JSON.stringify(body)));
      }),
    );
  });
});
