import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Pipeline, type Hit, type Query, type Retriever, type SearchOptions } from '@quarry/core';
import { availablePipelines, defaultRegistry } from '@quarry/cli';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, loadPipelines, loadServerConfig, type ServedPipeline } from '../src/index.js';
import { configFolder, useTemporaryCache } from './helpers.js';

/**
 * Debian's `chromium` package. A developer machine without it skips this file (everything else still
 * runs); under CI (`CI=true`, set by .ci/run, which installs it) a missing browser fails the run instead,
 * so CI can never silently stop testing the playground.
 */
const CHROMIUM = process.env['QUARRY_CHROMIUM'] ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const install = `Install the Debian package "chromium" (apt-get install chromium) or set QUARRY_CHROMIUM to a Chromium binary`;
if (!hasChromium && process.env['CI'] === 'true') {
  throw new Error(`CI=true but the playground browser test has no browser: ${CHROMIUM} not found. ${install}; .ci/run does this itself.`);
}
if (!hasChromium) console.warn(`browser test skipped: ${CHROMIUM} not found. ${install} to run it.`);
const ARTIFACTS = join(__dirname, '../.cache/browser');
const QUERY = 'vitamin D deficiency is linked to multiple sclerosis';

/**
 * Test fixture: wraps the real bm25 retriever and attaches explanations shaped like the
 * documented keys of the LameR, LLM2GR, Boolean and ColBERT plugins (see README), so the
 * playground's renderers are exercised end to end. The rankings are bm25's own.
 */
class ExplainingRetriever implements Retriever {
  readonly name = 'explaining-fixture';
  constructor(
    private readonly inner: Retriever,
    private readonly odd: boolean,
  ) {}
  async search(query: Query | string, options?: SearchOptions): Promise<Hit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }
  async searchBatch(queries: readonly (Query | string)[], options?: SearchOptions): Promise<Hit[][]> {
    const results = await this.inner.searchBatch(queries, options);
    return results.map((hits) =>
      hits.map((h, i) => ({
        ...h,
        explain: this.odd
          ? { titles: 'not a list', matches: [1, null], cues: [null, 'NOT'], scopes: [{ start: 'x' }], bias: { a: 1 }, augmentedQuery: 42, nested: { deep: { deeper: { deepest: [1, 2] } } } }
          : {
              // @quarry/lamer: LameRExplain under `lamer`, the same on every hit.
              lamer: {
                mode: 'lamer',
                generator: 'extractive-dense',
                generatorKind: 'extractive',
                prompt: `Give a passage that answers: ${QUERY}`,
                candidates: ['22843838', '21553394'],
                answers: ['vitamin D levels and MS risk', 'low sunlight exposure'],
                augmentedQuery: `${QUERY} vitamin D levels and MS risk ${QUERY} low sunlight exposure`,
              },
              // @quarry/bool-attn: BoolExplanation (here under `bool`).
              bool: {
                text: 'vitamin d deficiency and not sclerosis',
                tokens: ['vitamin', 'd', 'deficiency', 'and', 'not', 'sclerosis'].map((token, index) => ({
                  index,
                  token,
                  cue: token === 'and' ? 'AND' : token === 'not' ? 'NOT' : 'none',
                  cueProb: token === 'and' || token === 'not' ? 0.93 : 0.02,
                  bias: { AND: 0.1, OR: 0, NOT: token === 'sclerosis' ? -0.9 : 0 },
                  combined: [0.2, 0.1, 0.4, 0, -0.1, -0.8][index],
                  weight: 1 + [0.2, 0.1, 0.4, 0, -0.1, -0.8][index]!,
                })),
                gates: { AND: 0.97, OR: 0.03, NOT: 0.94 },
                cues: [
                  { index: 3, token: 'and', op: 'AND', prob: 0.93, scope: [{ index: 2, token: 'deficiency', value: 0.8 }] },
                  { index: 4, token: 'not', op: 'NOT', prob: 0.95, scope: [{ index: 5, token: 'sclerosis', value: 0.9 }] },
                ],
              },
              // @quarry/llm2gr: titles shared by every hit of the query, prefix/passage/scores per hit.
              titles: [
                { title: 'generated title A', score: -1.25 },
                { title: 'generated title B', score: -2.5 },
              ],
              prefix: `Multiple sclerosis (hit ${i})`,
              passage: `Multiple sclerosis (hit ${i}) shows a multifold increase in prevalence with latitude.`,
              titleScore: -1.25 - i,
              passageScore: -3.5 - i,
              // ColBERT token matches (documented keys).
              matches: [
                { queryToken: 'vitamin', docToken: 'vitamin', score: 0.97 - i / 100 },
                { queryToken: 'sclerosis', docToken: 'MS', score: 0.71 },
              ],
              fixtureNote: `generic key ${i}`,
            },
      })),
    );
  }
}

function fixture(name: string, base: ServedPipeline, odd: boolean): ServedPipeline {
  const pipeline = new Pipeline({ ...base.pipeline.config, name }, base.pipeline.docs, [new ExplainingRetriever(base.pipeline, odd)]);
  return { ...base, name, description: 'test fixture: bm25 with explanations attached', pipeline };
}

describe.skipIf(!hasChromium)('playground in headless Chromium', () => {
  let app: FastifyInstance;
  let url: string;
  let browser: import('playwright-core').Browser;
  let withLamer = false;

  beforeAll(async () => {
    useTemporaryCache();
    // The real LameR pipeline too (extractive answers, no LLM), when the CLI bundles it.
    const registry = defaultRegistry();
    withLamer = availablePipelines(registry).includes('lamer');
    const { file } = configFolder(
      `pipelines:\n  bm25: { dataset: scifact, pipeline: bm25 }\n  dense: { dataset: scifact, pipeline: dense }\n${withLamer ? '  lamer: { dataset: scifact, pipeline: lamer }\n' : ''}`,
    );
    const loaded = await loadPipelines(loadServerConfig(file, ['bm25', 'dense', 'lamer']), registry);
    const pipelines = new Map(loaded.map((p) => [p.name, p]));
    pipelines.set('explained', fixture('explained', loaded[0]!, false));
    pipelines.set('odd', fixture('odd', loaded[0]!, true));
    app = createServer({ pipelines, log: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('runs a query through three pipelines side by side, with rank changes and explanations, and saves a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    await page.goto(`${url}/`);
    await page.waitForSelector('input[name="pipeline"][value="explained"]');
    // The first two are preselected; pick a third and check the limit of three.
    expect(await page.$$eval('input[name="pipeline"]:checked', (els) => els.map((e) => (e as HTMLInputElement).value))).toEqual(['bm25', 'dense']);
    await page.check('input[value="explained"]');
    expect(await page.isDisabled('input[value="odd"]')).toBe(true);
    await page.fill('#query', QUERY);
    await page.click('#go');
    await page.waitForSelector('section.column[data-pipeline="explained"] li.hit');
    await page.waitForFunction(() => document.querySelectorAll('section.column').length === 3 && document.querySelectorAll('li.hit').length === 30);

    const columns = await page.$$eval('section.column', (sections) =>
      sections.map((s) => ({
        pipeline: (s as HTMLElement).dataset['pipeline'],
        titles: [...s.querySelectorAll('li.hit .title')].map((t) => t.textContent),
        deltas: [...s.querySelectorAll('li.hit .delta')].map((t) => t.textContent),
        scores: [...s.querySelectorAll('li.hit .score')].map((t) => Number(t.textContent)),
      })),
    );
    expect(columns.map((c) => c.pipeline)).toEqual(['bm25', 'dense', 'explained']);
    expect(columns[0]!.titles[0]).toBe('[Vitamin D and latitude as environmental factors in multiple sclerosis].');
    expect(columns[0]!.scores[0]).toBeCloseTo(12.1973, 4);
    expect(columns[0]!.deltas.every((d) => d === 'ref')).toBe(true);
    expect(columns[2]!.deltas).toEqual(Array(10).fill('=')); // same ranking as bm25
    expect(columns[1]!.deltas[0]).toBe('='); // dense also ranks the latitude paper first
    expect(columns[1]!.deltas.some((d) => /^(▲|▼)\d+$|^new$/.test(d!))).toBe(true);
    expect(await page.$$eval('li.hit .snippet mark', (m) => m.length)).toBeGreaterThan(10);

    // Query-level explanation (identical on every hit): LameR's augmented query, the Boolean analysis, LLM2GR's titles.
    const shared = page.locator('section.column[data-pipeline="explained"] .query-explain');
    const lamer = shared.locator('[data-key="lamer"] [data-renderer="lamer"]');
    await expect(lamer.locator('.augmented').textContent()).resolves.toContain('low sunlight exposure');
    expect(await lamer.locator('ol.answers li').allTextContents()).toEqual(['vitamin D levels and MS risk', 'low sunlight exposure']);
    await expect(lamer.locator('.label').nth(1).textContent()).resolves.toBe('Generated answers (2) from extractive-dense, extractive');
    expect(await lamer.locator('details.prompt').count()).toBe(1);
    const bool = shared.locator('[data-key="bool"] [data-renderer="bool"]');
    expect(await bool.locator('.tok.cue').allTextContents()).toEqual(['andAND', 'notNOT']);
    expect(await bool.locator('.tok.scope-not').allTextContents()).toEqual(['sclerosis']);
    expect(await bool.locator('.tok.scope-and').allTextContents()).toEqual(['deficiency']);
    expect(await bool.locator('table tr').nth(2).locator('td').allTextContents()).toEqual(['not', 'NOT', '4', 'sclerosis']);
    await expect(bool.locator('.muted').textContent()).resolves.toBe('Operator gates: AND 0.97, OR 0.03, NOT 0.94');
    expect(await shared.locator('[data-renderer="llm2gr"] table td').allTextContents()).toEqual(['generated title A', '-1.2500', 'generated title B', '-2.5000']);
    // Per-hit: LLM2GR prefix / passage / scores, ColBERT token matches, and an unknown key shown generically.
    const first = page.locator('section.column[data-pipeline="explained"] li.hit').first();
    await first.locator('details.hit-explain summary').click();
    await expect(first.locator('[data-renderer="llm2gr"] .passage .prefix').textContent()).resolves.toBe('Multiple sclerosis (hit 0)');
    await expect(first.locator('[data-renderer="llm2gr"] .muted').textContent()).resolves.toBe('Scores: title -1.2500, passage -3.5000');
    expect(await first.locator('[data-renderer="colbert"] tr').allTextContents()).toEqual(['query tokendocument tokensimilarity', 'vitamin→vitamin0.9700', 'sclerosis→MS0.7100']);
    expect(await first.locator('dl.kv dt').allTextContents()).toEqual(['fixtureNote']);
    // Plain pipelines have no explanation box.
    expect(await page.locator('section.column[data-pipeline="bm25"] .hit-explain, section.column[data-pipeline="bm25"] .query-explain').count()).toBe(0);

    await page.screenshot({ path: join(ARTIFACTS, 'playground.png'), fullPage: true });
    expect(existsSync(join(ARTIFACTS, 'playground.png'))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('restores a search from its link, and survives oddly shaped explanations and failing pipelines', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${url}/?q=${encodeURIComponent('stem cells')}&p=odd,dense&k=5`);
    await page.waitForFunction(() => document.querySelectorAll('li.hit').length === 10);
    expect(await page.inputValue('#query')).toBe('stem cells');
    const odd = page.locator('section.column[data-pipeline="odd"]');
    // Unrecognised shapes fall back to the generic view instead of breaking the page.
    await expect(odd.locator('.query-explain dl.kv').first().textContent()).resolves.toContain('not a list');
    expect(problems).toEqual([]);
    // A pipeline the server refuses shows its error in its column; the others still render.
    await page.route('**/search', async (route) => {
      const body = route.request().postDataJSON() as { pipeline: string };
      if (body.pipeline === 'dense')
        await route.fulfill({
          status: 503,
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
          body: JSON.stringify({ statusCode: 503, error: { code: 'OVERLOADED', message: 'busy' } }),
        });
      else await route.continue();
    });
    await page.click('#go');
    await page.waitForSelector('section.column[data-pipeline="dense"] .error');
    await expect(page.locator('section.column[data-pipeline="dense"] .error').textContent()).resolves.toBe('OVERLOADED: busy (retry after 1 s)');
    expect(await page.locator('section.column[data-pipeline="odd"] li.hit').count()).toBe(5);
    await expect(page.locator('#status').textContent()).resolves.toMatch(/^1 of 2 pipelines answered in \d+ ms\.$/);
    expect(problems).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-errors.png') });
    await page.close();
  });

  it("renders the real LameR plugin's explanation (augmented query, answers, prompt)", async (context) => {
    if (!withLamer) context.skip();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.setDefaultTimeout(30_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${url}/?q=${encodeURIComponent(QUERY)}&p=bm25,lamer&k=5`);
    await page.waitForFunction(() => document.querySelectorAll('li.hit').length === 10);
    const lamer = page.locator('section.column[data-pipeline="lamer"] .query-explain [data-key="lamer"] [data-renderer="lamer"]');
    const augmented = (await lamer.locator('.augmented').textContent()) ?? '';
    expect(augmented.startsWith(QUERY)).toBe(true);
    expect(augmented.length).toBeGreaterThan(QUERY.length * 2);
    expect(await lamer.locator('ol.answers li').count()).toBeGreaterThan(0);
    await expect(lamer.locator('.label').nth(1).textContent()).resolves.toMatch(/^Generated answers \(\d+\) from extractive/);
    expect(await lamer.locator('details.prompt').count()).toBe(1);
    expect(problems).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-lamer.png'), fullPage: true });
    await page.close();
  });
});
