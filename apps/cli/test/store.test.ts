import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteServer } from '../../../packages/store-pgvector/test/support/pglite.js';
import { cli, scifact, useTemporaryCache } from './helpers.js';

// Postgres 17 + pgvector (PGlite) on a loopback port, spoken to over the wire protocol.
let server: PgliteServer;
beforeAll(async () => {
  useTemporaryCache();
  server = await new PgliteServer().start();
});
afterAll(async () => server?.stop());

/** The in-process figure of the same pipeline (apps/cli/test/dense.test.ts). */
const IN_PROCESS_UNSEEN = 0.6564;

const evalJson = async (...argv: string[]) => {
  const r = await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--k', '100', '--json', '--quiet', ...argv);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as { metrics: Record<string, number>; cached: boolean };
};

describe('quarry eval/index/search --store postgres://...', () => {
  it('eval --pipeline dense --store gives the in-process nDCG@10: HNSW within its recall, exact scan to the digit', async () => {
    const hnsw = await evalJson('--pipeline', 'dense', '--store', server.url);
    expect(Math.abs(hnsw.metrics['ndcg@10']! - IN_PROCESS_UNSEEN)).toBeLessThan(0.005);
    // Same table, same encoder: the second build finds every document stored and encodes none.
    const exact = await evalJson('--pipeline', 'dense', '--store', server.url, '--dense-index', 'flat');
    expect(exact.metrics['ndcg@10']).toBeCloseTo(IN_PROCESS_UNSEEN, 4);
    // The cached pipeline reopens the store it points at.
    expect((await evalJson('--pipeline', 'dense', '--store', server.url, '--dense-index', 'flat')).cached).toBe(true);
  });

  it('index --store writes a pipeline that search --index reopens from Postgres', async () => {
    // The table the evals above filled: the index command finds every vector and the HNSW index in place.
    const out = join(mkdtempSync(join(tmpdir(), 'quarry-store-')), 'idx');
    const built = await cli('index', '--dataset', scifact, '--pipeline', 'dense-hnsw', '--store', server.url, '--out', out, '--quiet');
    expect(built.err).toBe('');
    expect(built.out).toMatch(/indexed 5183 documents/);
    const r = await cli('search', '--index', out, '--k', '3', '--json', 'statins lower cholesterol');
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).hits).toHaveLength(3);
  });

  it('a dimension mismatch, a password in the URL and a pipeline without dense vectors are clear errors', async () => {
    const dim = await cli('eval', '--dataset', scifact, '--split', 'test-unseen', '--pipeline', 'dense', '--store', server.url, '--dim', '64', '--no-cache');
    expect(dim.code).toBe(1);
    expect(dim.err).toMatch(/DIMENSION_MISMATCH.*holds 256-dimensional vectors but was opened for 64-dimensional/);
    const secret = await cli('eval', '--dataset', scifact, '--pipeline', 'dense', '--store', 'postgres://u:secret@127.0.0.1/x');
    expect(secret.code).toBe(2);
    expect(secret.err).toMatch(/PGPASSWORD/);
    const bm25 = await cli('eval', '--dataset', scifact, '--pipeline', 'bm25', '--store', server.url);
    expect(bm25.code).toBe(2);
    expect(bm25.err).toMatch(/has no dense retriever/);
  });
});
