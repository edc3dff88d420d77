import { readFileSync } from 'node:fs';
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConfigError, QuarryError, parseConfig, z, type Doc, type Hit, type PluginRegistry, type Query } from '@quarry/core';
import { builtinPipelines, defaultRegistry } from '@quarry/cli';
import { readJsonBody } from './body.js';
import { limitsSchema, loadServerConfig, type ServerConfig, type ServerLimits, type ServerLimitsInput } from './config.js';
import { HttpError } from './errors.js';
import { Limiter } from './limiter.js';
import { loadPipelines, type ServedPipeline } from './load.js';
import { ServerMetrics } from './metrics.js';
import { batchRequestSchema, searchRequestSchema, type ApiError, type ApiHit, type BatchResponse, type SearchResponse } from './schemas.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

/** Where logs go: pino JSON lines at `level` to `stream` (default stdout); `false` for none. */
export type LogOptions = false | { level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'; stream?: NodeJS.WritableStream };

export interface CreateServerOptions {
  /** The pipelines to answer for, by name. May be filled after creation, before `listen`. */
  pipelines: Map<string, ServedPipeline>;
  limits?: ServerLimitsInput;
  log?: LogOptions;
}

const ROUTES: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/playground.js': ['GET', 'HEAD'],
  '/playground.css': ['GET', 'HEAD'],
  '/pipelines': ['GET', 'HEAD'],
  '/search': ['POST'],
  '/search/batch': ['POST'],
  '/healthz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
};

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/playground.js': { file: 'playground.js', type: 'text/javascript; charset=utf-8' },
  '/playground.css': { file: 'playground.css', type: 'text/css; charset=utf-8' },
};

/** The playground's files: `public/` beside `src/` and `dist/`. */
export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/** The page may load only its own script and style, and talk only to this server. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Option keys whose values are never shown by GET /pipelines (API keys and the like). */
const SECRET_KEY = /(api[-_]?key|secret|password|passwd|authorization|bearer|credential|access[-_]?token|auth[-_]?token)/i;

interface RequestTiming {
  started: number;
  pipeline?: string;
  queries?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    quarry: RequestTiming;
  }
}

/**
 * The HTTP API and the playground over already loaded pipelines (not listening yet).
 * `startServer` loads pipelines from a config file and listens; use this one to embed
 * the server or to serve pipelines built in code.
 */
export function createServer(options: CreateServerOptions): FastifyInstance {
  const limits: ServerLimits = parseConfig(limitsSchema, options.limits ?? {}, 'server limits');
  const pipelines = options.pipelines;
  const limiter = new Limiter(limits.concurrency, limits.queue, limits.retryAfterSeconds);
  const metrics = new ServerMetrics(() => ({
    searching: limiter.active,
    waiting: limiter.waiting,
    pipelines: [...pipelines.values()].map((p) => ({ name: p.name, docs: p.pipeline.docs.size })),
  }));
  const searchSchema = searchRequestSchema(limits);
  const batchSchema = batchRequestSchema(limits);
  const staticFiles = new Map(Object.entries(STATIC_FILES).map(([route, { file, type }]) => [route, { body: readFileSync(`${PUBLIC_DIR}${file}`), type }]));
  let nextId = 0;
  const startedAt = Date.now();

  const app = Fastify({
    logger: options.log === false ? false : { level: options.log?.level ?? 'info', ...(options.log?.stream ? { stream: options.log.stream } : {}) },
    // One log line per request comes from the onRequest hook below (with route, status, pipeline).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    genReqId: () => `r${(++nextId).toString(36)}`,
    bodyLimit: limits.bodyBytes,
    // Malformed HTTP (bad request line, oversized headers) and header timeouts never reach a route:
    // Node hands them here; answer in the API's error format and close.
    clientErrorHandler(error: NodeJS.ErrnoException, socket) {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, code, message] =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'HEADERS_TIMEOUT', `The request headers did not arrive within ${limits.headersTimeoutMs} ms (server.limits.headersTimeoutMs).`]
          : error.code === 'HPE_HEADER_OVERFLOW'
            ? [431, 'HEADERS_TOO_LARGE', 'The request headers are larger than this server accepts (16 KiB).']
            : [400, 'BAD_HTTP', `The request is not valid HTTP/1.1 (${error.code ?? error.message}).`];
      app.log.info({ event: 'client_error', code: error.code, status }, 'malformed or timed-out HTTP request');
      if (socket.writable) {
        const body = JSON.stringify(apiError(status, code, message));
        socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      socket.destroy();
    },
    serverFactory: (handler) =>
      createHttpServer(
        {
          headersTimeout: limits.headersTimeoutMs,
          // Backstop for a body that never ends; readJsonBody answers first with a message.
          requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs + 5_000,
          connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(limits.headersTimeoutMs / 4))),
          keepAliveTimeout: 5_000,
        },
        handler,
      ),
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', (_request: FastifyRequest, payload: IncomingMessage) => readJsonBody(payload, limits.bodyBytes, limits.bodyTimeoutMs));

  app.addHook('onRequest', async (request, reply) => {
    request.quarry = { started: performance.now() };
    metrics.inFlight++;
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.raw.once('close', () => {
      metrics.inFlight--;
      const route = request.routeOptions.url ?? 'unmatched';
      const status = reply.raw.writableFinished ? String(reply.raw.statusCode) : 'aborted';
      const seconds = (performance.now() - request.quarry.started) / 1000;
      metrics.requests.inc({ route, method: request.method, status });
      metrics.latency.observe({ route }, seconds);
      const entry = { reqId: request.id, method: request.method, route, status, ms: Math.round(seconds * 1e4) / 10, ...(request.quarry.pipeline ? { pipeline: request.quarry.pipeline, queries: request.quarry.queries } : {}) };
      if (status === 'aborted' || reply.raw.statusCode >= 500) app.log.warn(entry, 'request');
      else app.log.info(entry, 'request');
    });
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    const body = toApiError(error, request);
    if (body.statusCode >= 500 && !(error instanceof HttpError)) request.log.error({ err: error, reqId: request.id }, 'request failed');
    if (error instanceof HttpError) for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
    if (body.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(limits.retryAfterSeconds));
    if (body.statusCode === 503 || body.statusCode === 504) metrics.rejected.inc({ reason: body.error.code.toLowerCase() });
    void reply.code(body.statusCode).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = ROUTES[path];
    if (allowed) {
      void reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send(apiError(405, 'METHOD_NOT_ALLOWED', `${request.method} ${path} is not supported; use ${allowed.filter((m) => m !== 'HEAD').join(' or ')} ${path}.`));
      return;
    }
    const list = Object.entries(ROUTES).map(([p, m]) => `${m[0]} ${p}`).join(', ');
    void reply.code(404).send(apiError(404, 'NOT_FOUND', `No route ${request.method} ${path}. Routes: ${list}.`));
  });

  for (const [route, file] of staticFiles) {
    app.get(route, async (_request, reply) => {
      void reply.header('content-type', file.type).header('cache-control', 'no-cache').header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
      return file.body;
    });
  }

  app.get('/healthz', async () => ({
    status: 'ok',
    pipelines: [...pipelines.keys()],
    searching: limiter.active,
    queued: limiter.waiting,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
  }));

  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return metrics.render();
  });

  app.get('/pipelines', async () => ({
    pipelines: [...pipelines.values()].map((p) => ({
      name: p.name,
      description: p.description ?? null,
      documents: p.pipeline.docs.size,
      source: p.source,
      config: redact(p.pipeline.config),
    })),
  }));

  const lookup = (name: string): ServedPipeline => {
    const served = pipelines.get(name);
    if (!served) throw new HttpError(404, 'UNKNOWN_PIPELINE', `Unknown pipeline "${name}". This server serves: ${[...pipelines.keys()].join(', ') || '(none)'} (GET /pipelines).`);
    return served;
  };

  /** Runs one search job under the concurrency limit and the deadline. */
  const runSearch = async <T>(request: FastifyRequest, reply: FastifyReply, served: ServedPipeline, queries: number, job: (signal: AbortSignal) => Promise<T>): Promise<{ result: T; tookMs: number }> => {
    request.quarry.pipeline = served.name;
    request.quarry.queries = queries;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new HttpError(504, 'TIMEOUT', `The search took longer than this server's deadline of ${limits.timeoutMs} ms (server.limits.timeoutMs); ask for a smaller k or fewer queries.`)), limits.timeoutMs);
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort(new HttpError(499 as number, 'TIMEOUT', 'The client closed the connection.'));
    };
    reply.raw.once('close', onClose);
    try {
      return await limiter.run(async () => {
        const started = performance.now();
        try {
          const result = await job(controller.signal);
          // A search that ran past the deadline without noticing it still answers 504: the deadline is the contract.
          if (controller.signal.aborted) throw controller.signal.reason;
          return { result, tookMs: performance.now() - started };
        } catch (error) {
          if (controller.signal.aborted && !(error instanceof HttpError)) throw controller.signal.reason;
          throw error;
        } finally {
          const seconds = (performance.now() - started) / 1000;
          metrics.searchLatency.observe({ pipeline: served.name }, seconds);
          metrics.queries.inc({ pipeline: served.name }, queries);
        }
      }, controller.signal);
    } finally {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    }
  };

  app.post('/search', async (request, reply): Promise<SearchResponse> => {
    const body = validate(searchSchema, request.body, 'search request');
    const served = lookup(body.pipeline);
    const { result, tookMs } = await runSearch(request, reply, served, 1, (signal) => served.pipeline.search({ id: 'q', text: body.query }, { k: body.k, signal }));
    return { pipeline: served.name, query: body.query, k: body.k, tookMs: round(tookMs), hits: toApiHits(result, served, body) };
  });

  app.post('/search/batch', async (request, reply): Promise<BatchResponse> => {
    const body = validate(batchSchema, request.body, 'batch search request');
    const served = lookup(body.pipeline);
    const queries: Query[] = body.queries.map((q, i) => (typeof q === 'string' ? { id: String(i), text: q } : q));
    const { result, tookMs } = await runSearch(request, reply, served, queries.length, (signal) => served.pipeline.searchBatch(queries, { k: body.k, signal }));
    return {
      pipeline: served.name,
      k: body.k,
      tookMs: round(tookMs),
      results: queries.map((q, i) => ({ id: q.id, query: q.text, hits: toApiHits(result[i]!, served, body) })),
    };
  });

  return app;
}

function validate<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  if (body === undefined) throw new HttpError(400, 'INVALID_JSON', `The ${what} needs a JSON body with the header content-type: application/json.`);
  try {
    return parseConfig(schema, body, what);
  } catch (error) {
    if (error instanceof ConfigError) throw new HttpError(400, 'INVALID_REQUEST', error.message, error.issues);
    throw error;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function snippetOf(doc: Doc | undefined, chars: number): string {
  const text = doc?.text ?? '';
  if (text.length <= chars) return text;
  const cut = text.lastIndexOf(' ', chars);
  return `${text.slice(0, cut > chars * 0.6 ? cut : chars).trimEnd()}…`;
}

function toApiHits(hits: readonly Hit[], served: ServedPipeline, options: { explain: boolean; snippet: number }): ApiHit[] {
  return hits.map((h, i) => {
    const doc = served.pipeline.docs.get(h.id);
    const hit: ApiHit = { rank: i + 1, id: h.id, score: h.score, title: doc?.title || null };
    if (options.snippet > 0) hit.snippet = snippetOf(doc, options.snippet);
    if (options.explain && h.explain) hit.explain = h.explain;
    return hit;
  });
}

function apiError(statusCode: number, code: string, message: string, issues?: readonly { path: string; message: string }[]): ApiError {
  return { statusCode, error: { code, message, ...(issues ? { issues: [...issues] } : {}) } };
}

/** Maps anything thrown while answering to a status and a JSON error body. */
function toApiError(error: unknown, request: FastifyRequest): ApiError {
  if (error instanceof HttpError) return apiError(error.status, error.apiCode, error.message, error.issues);
  const fastifyError = error as { statusCode?: number; code?: string; message?: string };
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return apiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type "${request.headers['content-type'] ?? '(none)'}" is not accepted; send the body as JSON with content-type: application/json.`);
  }
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return apiError(413, 'BODY_TOO_LARGE', fastifyError.message ?? 'Request body is too large.');
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return apiError(fastifyError.statusCode, 'INVALID_REQUEST', fastifyError.message ?? 'Bad request.');
  }
  if (error instanceof QuarryError && error.code === 'INPUT_INVALID') return apiError(400, 'INVALID_REQUEST', error.message);
  // A service a plugin depends on failed (an LLM endpoint, a database): the plugin's message says which.
  if (error instanceof QuarryError && error.code === 'UPSTREAM_FAILED') return apiError(502, 'UPSTREAM_FAILED', error.message);
  return apiError(500, 'INTERNAL', `The server failed to answer (request ${request.id}); the server log has the details.`);
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== undefined && v !== null ? '[redacted]' : redact(v)]));
  }
  return value;
}

export interface StartOptions {
  /** A YAML or JSON file: `pipelines: {NAME: {dataset: DIR, pipeline: NAME|FILE} | {index: DIR}}`, optional `server: {host, port, limits}`. */
  configFile?: string;
  /** Or the parsed config itself. */
  config?: ServerConfig;
  /** Overrides the config's `server.port` (default 8080; 0 picks a free port). */
  port?: number;
  /** Overrides the config's `server.host` (default 127.0.0.1, loopback only). */
  host?: string;
  /** Plugins to build pipelines with (default: the CLI's bundled plugins). */
  registry?: PluginRegistry;
  log?: LogOptions;
  signal?: AbortSignal;
}

export interface RunningServer {
  app: FastifyInstance;
  /** `http://host:port`, the address actually bound. */
  url: string;
  pipelines: ServedPipeline[];
  close(): Promise<void>;
}

/** Loads every configured pipeline (once), then listens. Rejects if any pipeline fails to load. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const registry = options.registry ?? defaultRegistry();
  const config = options.config ?? (options.configFile ? loadServerConfig(options.configFile, Object.keys(builtinPipelines)) : undefined);
  if (!config) throw new ConfigError('The server needs a config: pass --config FILE (a YAML or JSON file with `pipelines: {NAME: {dataset: DIR, pipeline: NAME}}`).');
  const served = new Map<string, ServedPipeline>();
  const app = createServer({ pipelines: served, limits: config.limits, log: options.log });
  try {
    const started = performance.now();
    for (const p of await loadPipelines(config, registry, {
      signal: options.signal,
      onLoaded: (p) => app.log.info({ event: 'pipeline_loaded', pipeline: p.name, source: p.source.kind, documents: p.pipeline.docs.size, cached: p.cached, seconds: round(p.loadSeconds) }, `pipeline "${p.name}" ready`),
    })) {
      served.set(p.name, p);
    }
    const host = options.host ?? config.host ?? DEFAULT_HOST;
    const port = options.port ?? config.port ?? DEFAULT_PORT;
    if (!isLoopback(host)) app.log.warn({ event: 'non_loopback', host }, `listening on ${host}, which is reachable from other machines; the server has no authentication, so put it behind a proxy that has`);
    await app.listen({ host, port });
    const address = app.server.address();
    const bound = typeof address === 'object' && address ? address : { address: host, port };
    const url = `http://${isIP(bound.address) === 6 ? `[${bound.address}]` : bound.address}:${bound.port}`;
    app.log.info({ event: 'listening', url, pipelines: [...served.keys()], startSeconds: round((performance.now() - started) / 1000) }, `Quarry server listening on ${url} (playground: ${url}/)`);
    return { app, url, pipelines: [...served.values()], close: () => app.close() };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** Starts the server and runs until `signal` fires, then closes gracefully (in-flight requests finish). */
export async function serve(options: StartOptions & { signal: AbortSignal }): Promise<void> {
  const running = await startServer(options);
  if (!options.signal.aborted) await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  running.app.log.info({ event: 'closing' }, 'closing: finishing in-flight requests');
  await running.close();
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}
