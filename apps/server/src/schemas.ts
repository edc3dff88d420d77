import { z } from '@quarry/core';
import type { ServerLimits } from './config.js';

/**
 * Request bodies of the HTTP API. The same zod schemas validate requests in the server and
 * can validate them in a client (`searchRequestSchema(limits).parse(body)`); failures go
 * through core's `parseConfig`, so the wording matches the CLI and pipeline files.
 */
export function searchRequestSchema(limits: Pick<ServerLimits, 'maxK' | 'maxQueryChars'>) {
  return z.strictObject({
    /** A name from `GET /pipelines`. */
    pipeline: z.string().min(1, 'name a pipeline from GET /pipelines'),
    query: z
      .string()
      .max(limits.maxQueryChars, `a query may have at most ${limits.maxQueryChars} characters`)
      .refine((s) => s.trim().length > 0, 'the query text is empty'),
    k: z.number().int().min(1).max(limits.maxK, `k may be at most ${limits.maxK} on this server`).default(10),
    /** Include each hit's `explain` (default true). */
    explain: z.boolean().default(true),
    /** Characters of document text returned as `snippet` (0: none). */
    snippet: z.number().int().min(0).max(10_000).default(240),
  });
}

export function batchRequestSchema(limits: Pick<ServerLimits, 'maxK' | 'maxQueryChars' | 'maxBatch'>) {
  const text = z
    .string()
    .max(limits.maxQueryChars, `a query may have at most ${limits.maxQueryChars} characters`)
    .refine((s) => s.trim().length > 0, 'the query text is empty');
  return z.strictObject({
    pipeline: z.string().min(1, 'name a pipeline from GET /pipelines'),
    /** Query texts, or `{id, text}` objects whose id comes back with the results. */
    queries: z
      .array(z.union([text, z.strictObject({ id: z.string().min(1).max(256), text })]))
      .min(1, 'send at least one query')
      .max(limits.maxBatch, `a batch may hold at most ${limits.maxBatch} queries on this server`),
    k: z.number().int().min(1).max(limits.maxK, `k may be at most ${limits.maxK} on this server`).default(10),
    explain: z.boolean().default(false),
    snippet: z.number().int().min(0).max(10_000).default(0),
  });
}

export type SearchRequest = z.output<ReturnType<typeof searchRequestSchema>>;
export type BatchRequest = z.output<ReturnType<typeof batchRequestSchema>>;

/** One hit as the API returns it. */
export interface ApiHit {
  rank: number;
  id: string;
  score: number;
  title: string | null;
  snippet?: string;
  explain?: Record<string, unknown>;
}

export interface SearchResponse {
  pipeline: string;
  query: string;
  k: number;
  tookMs: number;
  hits: ApiHit[];
}

export interface BatchResponse {
  pipeline: string;
  k: number;
  tookMs: number;
  results: { id: string; query: string; hits: ApiHit[] }[];
}

/** The body of every error response; `limit` comes with BUDGET_EXCEEDED (which limit, its value, what was asked). */
export interface ApiError {
  statusCode: number;
  error: { code: string; message: string; issues?: { path: string; message: string }[]; limit?: { name: string; max: number; asked: number } };
}
