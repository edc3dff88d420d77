import { dirname, resolve } from 'node:path';
import { ConfigError, parseConfig, safeJoin, z } from '@quarry/core';
import { readConfigFile } from '@quarry/cli';

/** Names a client uses in `{"pipeline": NAME}`: short, URL- and label-safe. */
export const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Server limits; every one has a default and can be set under `server.limits` in the config. */
export const limitsSchema = z.strictObject({
  /** Largest request body accepted, in bytes (larger: 413). */
  bodyBytes: z
    .number()
    .int()
    .min(256)
    .max(64 * 2 ** 20)
    .default(64 * 1024),
  /** Time a client has to send the whole body once its headers arrived (slower: 408). */
  bodyTimeoutMs: z.number().int().min(50).max(600_000).default(10_000),
  /** Time a client has to send the request headers (slower: 408 from Node's HTTP server, connection closed). */
  headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** Per-request search deadline, queue wait included (past it: 504 while searching, 503 while queued). */
  timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  /** Searches running at once; ONNX encoders and LLM calls run off the event loop, so more than 1 helps them. */
  concurrency: z.number().int().min(1).max(1024).default(8),
  /** Searches waiting for a slot; past concurrency + queue, requests get 503 + Retry-After. */
  queue: z.number().int().min(0).max(100_000).default(256),
  /** Seconds sent in Retry-After with a 503. */
  retryAfterSeconds: z.number().int().min(1).max(3600).default(1),
  /** Largest `k` a request may ask for. */
  maxK: z.number().int().min(1).max(100_000).default(1000),
  /** Most queries in one `/search/batch` request. */
  maxBatch: z.number().int().min(1).max(10_000).default(100),
  /** Longest query text, in characters. */
  maxQueryChars: z.number().int().min(1).max(1_000_000).default(4096),
  /** Work budget: most hits one request may ask for, queries x k (a `/search` is one query). Past it: 400 BUDGET_EXCEEDED. */
  maxHits: z.number().int().min(1).max(100_000_000).default(20_000),
  /** Work budget: most snippet characters one request may ask for, queries x k x snippet. Past it: 400 BUDGET_EXCEEDED. */
  maxSnippetChars: z.number().int().min(0).max(2_000_000_000).default(2_000_000),
  /**
   * Largest response body, in bytes. Bodies are written as they are produced; one that would grow past
   * this (explanations are not in the budget above) is refused with 400 BUDGET_EXCEEDED while it is still
   * under 64 KiB, else cut off by closing the connection.
   */
  maxResponseBytes: z
    .number()
    .int()
    .min(4096)
    .max(2 ** 31)
    .default(32 * 2 ** 20),
});
export type ServerLimits = z.output<typeof limitsSchema>;
export type ServerLimitsInput = z.input<typeof limitsSchema>;

const datasetEntrySchema = z.strictObject({
  /** A BEIR-layout folder, relative to the config file. */
  dataset: z.string().min(1),
  /** A built-in pipeline name, a pipeline file (relative to the config file) or an inline pipeline config. */
  pipeline: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).default('bm25'),
  /** Reuse (and fill) the CLI's pipeline cache, so a restart loads instead of rebuilding. */
  cache: z.boolean().default(true),
  description: z.string().optional(),
});

const indexEntrySchema = z.strictObject({
  /** A folder written by `quarry index`, relative to the config file. */
  index: z.string().min(1),
  description: z.string().optional(),
});

const serverSectionSchema = z.strictObject({
  host: z.string().min(1).optional(),
  /** Host names (the Host header, port aside) answered besides loopback names and IP addresses; `*.example.com` matches subdomains. */
  allowedHosts: z.array(z.string().min(1)).default([]),
  port: z.number().int().min(0).max(65_535).optional(),
  limits: limitsSchema.default(limitsSchema.parse({})),
});

const fileSchema = z.strictObject({
  pipelines: z.record(z.string(), z.unknown()).refine((p) => Object.keys(p).length > 0, 'name at least one pipeline to serve'),
  server: serverSectionSchema.default(serverSectionSchema.parse({})),
});

export type PipelineSource =
  | { kind: 'dataset'; dataset: string; datasetDir: string; pipeline: string | Record<string, unknown>; pipelineFile?: string; cache: boolean; description?: string }
  | { kind: 'index'; index: string; indexDir: string; description?: string };

export interface ServerConfig {
  /** The config file's folder; every path in the file resolves under it. */
  baseDir: string;
  /** The config file, when read from one: errors in inline pipelines name it. */
  file?: string;
  pipelines: { name: string; source: PipelineSource }[];
  host?: string;
  port?: number;
  /** Host names answered besides loopback names and IP addresses (`server.allowedHosts`). */
  allowedHosts?: string[];
  limits: ServerLimits;
}

/** Reads and validates a server config file (YAML or JSON). */
export function loadServerConfig(file: string, builtinPipelineNames: readonly string[] = []): ServerConfig {
  return parseServerConfig(readConfigFile(file, 'server config'), dirname(resolve(file)), builtinPipelineNames, file);
}

/**
 * Validates a server config value. Paths resolve relative to `baseDir` and may not leave it
 * (`..`, absolute paths elsewhere): a config file only serves what lies beside or below it.
 * A `pipeline` string that is not one of `builtinPipelineNames` is a pipeline file path.
 */
export function parseServerConfig(value: unknown, baseDir: string, builtinPipelineNames: readonly string[] = [], file = 'server config'): ServerConfig {
  // Errors name the file and the full path in it (pipelines.a.pipline), with the closest valid key.
  const origin = file === 'server config' ? {} : { file };
  const parsed = parseConfig(fileSchema, value, 'server config', origin);
  const pipelines: ServerConfig['pipelines'] = [];
  for (const [name, raw] of Object.entries(parsed.pipelines)) {
    if (!PIPELINE_NAME.test(name)) {
      throw new ConfigError(`Invalid server config ${file}: pipeline name "${name}" must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.`);
    }
    const isIndex = typeof raw === 'object' && raw !== null && 'index' in raw;
    if (isIndex) {
      const entry = parseConfig(indexEntrySchema, raw, `pipeline "${name}" (an index entry: {index: DIR})`, { ...origin, path: ['pipelines', name] });
      pipelines.push({ name, source: { kind: 'index', index: entry.index, indexDir: inside(baseDir, entry.index, name, file), description: entry.description } });
    } else {
      const entry = parseConfig(datasetEntrySchema, raw, `pipeline "${name}" (a dataset entry: {dataset: DIR, pipeline: NAME|FILE} or an index entry: {index: DIR})`, {
        ...origin,
        path: ['pipelines', name],
      });
      const source: PipelineSource = {
        kind: 'dataset',
        dataset: entry.dataset,
        datasetDir: inside(baseDir, entry.dataset, name, file),
        pipeline: entry.pipeline,
        cache: entry.cache,
        description: entry.description,
      };
      if (typeof entry.pipeline === 'string' && !builtinPipelineNames.includes(entry.pipeline)) source.pipelineFile = inside(baseDir, entry.pipeline, name, file);
      pipelines.push({ name, source });
    }
  }
  return { baseDir, ...origin, pipelines, host: parsed.server.host, port: parsed.server.port, allowedHosts: parsed.server.allowedHosts, limits: parsed.server.limits };
}

function inside(baseDir: string, path: string, name: string, file: string): string {
  try {
    return safeJoin(baseDir, path);
  } catch {
    throw new ConfigError(
      `Invalid server config ${file}: pipeline "${name}" names "${path}", which lies outside the config file's folder ${baseDir}. ` +
        'Paths resolve relative to the config file and must stay inside its folder: move the config file up, or link the folder in (ln -s).',
    );
  }
}
