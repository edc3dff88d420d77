import { readFileSync } from 'node:fs';
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConfigError, QuarryError, parseConfig, type z, type Doc, type Hit, type PluginRegistry, type Query } from '@quarry/core';
import { builtinPipelines, defaultRegistry } from '@quarry/cli';
import { readJsonBody } from './body.js';
import { limitsSchema, loadServerConfig, type ServerConfig, type ServerLimits, type ServerLimitsInput } from './config.js';
import { HttpError } from './errors.js';
import { redactConfig, redactError } from './redact.js';
import { Limiter } from './limiter.js';
import { loadPipelines, type ServedPipeline } from './load.js';
import { ServerMetrics } from './metrics.js';
import { batchRequestSchema, searchRequestSchema, type ApiError, type ApiHit } from './schemas.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

/** Where logs go: pino JSON lines at `level` to `stream` (default stdout); `false` for none. */
export type LogOptions = false | { level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'; stream?: NodeJS.WritableStream };

export interface CreateServerOptions {
  /** The pipelines to answer for, by name. May be filled after creation, before `listen`. */
  pipelines: Map<string, ServedPipeline>;
  limits?: ServerLimitsInput;
  /**
   * Host names (the Host header without its port) to answer besides `localhost`, `*.localhost` and IP
   * addresses; `*.example.com` matches any subdomain. Any other Host gets 403 HOST_NOT_ALLOWED, so a
   * page on another site cannot reach the API by pointing its own name at this machine (DNS rebinding).
   */
  allowedHosts?: readonly string[];
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

/** Bodies up to this size are gathered and sent whole (a deadline passed meanwhile is still a 504); larger ones are streamed. */
const STREAM_AFTER_BYTES = 64 * 1024;
/** Hits serialised per chunk of a single search's body. */
const HITS_PER_CHUNK = 64;

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
  const hostAllowed = hostMatcher(options.allowedHosts ?? []);
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
      const entry = {
        reqId: request.id,
        method: request.method,
        route,
        status,
        ms: Math.round(seconds * 1e4) / 10,
        ...(request.quarry.pipeline ? { pipeline: request.quarry.pipeline, queries: request.quarry.queries } : {}),
      };
      if (status === 'aborted' || reply.raw.statusCode >= 500) app.log.warn(entry, 'request');
      else app.log.info(entry, 'request');
    });
    // DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 sends Host: evil.example.
    const host = hostName(request.headers.host);
    if (!hostAllowed(host)) {
      throw new HttpError(
        403,
        'HOST_NOT_ALLOWED',
        `This server does not answer for the host name "${host}": it answers localhost, IP addresses and the names in server.allowedHosts (add the name there to allow it).`,
      );
    }
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    const body = toApiError(error, request);
    // The log gets the details (scrubbed: an upstream's text can carry keys, URLs with credentials); the client gets the request id.
    if (body.statusCode >= 500 && !(error instanceof HttpError)) request.log.error({ err: redactError(error), reqId: request.id }, 'request failed');
    if (error instanceof HttpError) for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
    if (body.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(limits.retryAfterSeconds));
    if (body.statusCode === 503 || body.statusCode === 504 || body.error.code === 'BUDGET_EXCEEDED') metrics.rejected.inc({ reason: body.error.code.toLowerCase() });
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
    const list = Object.entries(ROUTES)
      .map(([p, m]) => `${m[0]} ${p}`)
      .join(', ');
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
      config: redactConfig(p.pipeline.config),
    })),
  }));

  const lookup = (name: string): ServedPipeline => {
    const served = pipelines.get(name);
    if (!served) throw new HttpError(404, 'UNKNOWN_PIPELINE', `Unknown pipeline "${name}". This server serves: ${[...pipelines.keys()].join(', ') || '(none)'} (GET /pipelines).`);
    return served;
  };

  /**
   * Runs one search under the concurrency limit and the deadline, then writes its answer: the slot
   * is held and the deadline runs until the last byte is written, so serialising a large answer
   * counts against both (a slow reader cannot hold a slot past the deadline either).
   */
  const runSearch = async <T>(
    request: FastifyRequest,
    reply: FastifyReply,
    served: ServedPipeline,
    queries: number,
    job: (signal: AbortSignal) => Promise<T>,
    body: (result: T, tookMs: number) => Iterator<string>,
  ): Promise<void> => {
    request.quarry.pipeline = served.name;
    request.quarry.queries = queries;
    const controller = new AbortController();
    const timeout = () =>
      controller.abort(
        new HttpError(
          504,
          'TIMEOUT',
          `The search (or writing its answer) took longer than this server's deadline of ${limits.timeoutMs} ms (server.limits.timeoutMs); ask for a smaller k or fewer queries.`,
        ),
      );
    const timer = setTimeout(timeout, limits.timeoutMs);
    // Serialising runs in synchronous stretches where the timer cannot fire: it asks the clock.
    const deadline = performance.now() + limits.timeoutMs;
    const expired = (): boolean => {
      if (!controller.signal.aborted && performance.now() >= deadline) timeout();
      return controller.signal.aborted;
    };
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort(new HttpError(499 as number, 'TIMEOUT', 'The client closed the connection.'));
    };
    reply.raw.once('close', onClose);
    try {
      await limiter.run(async () => {
        const started = performance.now();
        let result: T;
        try {
          result = await job(controller.signal);
          // A search that ran past the deadline without noticing it still answers 504: the deadline is the contract.
          if (controller.signal.aborted) throw controller.signal.reason;
        } catch (error) {
          if (controller.signal.aborted && !(error instanceof HttpError)) throw controller.signal.reason;
          throw error;
        } finally {
          const seconds = (performance.now() - started) / 1000;
          metrics.searchLatency.observe({ pipeline: served.name }, seconds);
          metrics.queries.inc({ pipeline: served.name }, queries);
        }
        await sendJson(reply, body(result, performance.now() - started), controller.signal, expired, limits.maxResponseBytes);
      }, controller.signal);
    } finally {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    }
  };

  /** 400 BUDGET_EXCEEDED before any work when a request asks for more hits or snippet text than `server.limits` allow. */
  const checkBudget = (queries: number, k: number, snippet: number): void => {
    const hits = queries * k;
    if (hits > limits.maxHits) {
      throw new HttpError(
        400,
        'BUDGET_EXCEEDED',
        `This request asks for ${queries} ${queries === 1 ? 'query' : 'queries'} x k ${k} = ${hits} hits; this server returns at most ${limits.maxHits} hits per request (server.limits.maxHits). Ask for a smaller k or send fewer queries per batch.`,
        undefined,
        {},
        { name: 'maxHits', max: limits.maxHits, asked: hits },
      );
    }
    const chars = hits * snippet;
    if (chars > limits.maxSnippetChars) {
      throw new HttpError(
        400,
        'BUDGET_EXCEEDED',
        `This request asks for ${hits} hits x snippet ${snippet} = ${chars} snippet characters; this server returns at most ${limits.maxSnippetChars} per request (server.limits.maxSnippetChars). Ask for a shorter snippet, a smaller k or fewer queries.`,
        undefined,
        {},
        { name: 'maxSnippetChars', max: limits.maxSnippetChars, asked: chars },
      );
    }
  };

  app.post('/search', async (request, reply) => {
    const body = validate(searchSchema, request.body, 'search request');
    checkBudget(1, body.k, body.snippet);
    const served = lookup(body.pipeline);
    await runSearch(
      request,
      reply,
      served,
      1,
      (signal) => served.pipeline.search({ id: 'q', text: body.query }, { k: body.k, signal }),
      function* (hits, tookMs) {
        yield `{"pipeline":${JSON.stringify(served.name)},"query":${JSON.stringify(body.query)},"k":${body.k},"tookMs":${round(tookMs)},"hits":[`;
        yield* hitChunks(hits, served, body);
        yield ']}';
      },
    );
    return reply;
  });

  app.post('/search/batch', async (request, reply) => {
    const body = validate(batchSchema, request.body, 'batch search request');
    checkBudget(body.queries.length, body.k, body.snippet);
    const served = lookup(body.pipeline);
    const queries: Query[] = body.queries.map((q, i) => (typeof q === 'string' ? { id: String(i), text: q } : q));
    await runSearch(
      request,
      reply,
      served,
      queries.length,
      (signal) => served.pipeline.searchBatch(queries, { k: body.k, signal }),
      function* (results, tookMs) {
        yield `{"pipeline":${JSON.stringify(served.name)},"k":${body.k},"tookMs":${round(tookMs)},"results":[`;
        // A few hits at a time: the whole body never exists as one string, and the deadline is checked between pieces.
        for (const [i, q] of queries.entries()) {
          yield `${i > 0 ? ',' : ''}{"id":${JSON.stringify(q.id)},"query":${JSON.stringify(q.text)},"hits":[`;
          yield* hitChunks(results[i]!, served, body);
          yield ']}';
        }
        yield ']}';
      },
    );
    return reply;
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

/** A query's hits as JSON text, HITS_PER_CHUNK hits per piece, comma-separated (no brackets). */
function* hitChunks(hits: readonly Hit[], served: ServedPipeline, options: { explain: boolean; snippet: number }): Generator<string> {
  for (let i = 0; i < hits.length; i += HITS_PER_CHUNK) {
    yield (i > 0 ? ',' : '') +
      toApiHits(hits.slice(i, i + HITS_PER_CHUNK), served, options, i)
        .map((h) => JSON.stringify(h))
        .join(',');
  }
}

function toApiHits(hits: readonly Hit[], served: ServedPipeline, options: { explain: boolean; snippet: number }, offset = 0): ApiHit[] {
  return hits.map((h, i) => {
    const doc = served.pipeline.docs.get(h.id);
    const hit: ApiHit = { rank: offset + i + 1, id: h.id, score: h.score, title: doc?.title || null };
    if (options.snippet > 0) hit.snippet = snippetOf(doc, options.snippet);
    if (options.explain && h.explain) hit.explain = h.explain;
    return hit;
  });
}

function apiError(statusCode: number, code: string, message: string, issues?: readonly { path: string; message: string }[], limit?: ApiError['error']['limit']): ApiError {
  return { statusCode, error: { code, message, ...(issues ? { issues: [...issues] } : {}), ...(limit ? { limit } : {}) } };
}

/** Maps anything thrown while answering to a status and a JSON error body. */
function toApiError(error: unknown, request: FastifyRequest): ApiError {
  if (error instanceof HttpError) return apiError(error.status, error.apiCode, error.message, error.issues, error.limit);
  const fastifyError = error as { statusCode?: number; code?: string; message?: string };
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return apiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type "${request.headers['content-type'] ?? '(none)'}" is not accepted; send the body as JSON with content-type: application/json.`);
  }
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return apiError(413, 'BODY_TOO_LARGE', fastifyError.message ?? 'Request body is too large.');
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return apiError(fastifyError.statusCode, 'INVALID_REQUEST', fastifyError.message ?? 'Bad request.');
  }
  if (error instanceof QuarryError && error.code === 'INPUT_INVALID') return apiError(400, 'INVALID_REQUEST', error.message);
  // A service a plugin depends on failed (an LLM endpoint, a database). Its message can quote the upstream's
  // answer (which may echo a key) and name internal hosts and ports: that goes to the log only.
  if (error instanceof QuarryError && error.code === 'UPSTREAM_FAILED') {
    return apiError(502, 'UPSTREAM_FAILED', `A service this pipeline depends on failed (request ${request.id}); the server log has the details.`);
  }
  return apiError(500, 'INTERNAL', `The server failed to answer (request ${request.id}); the server log has the details.`);
}

/**
 * Writes a JSON body made of `pieces`. Up to STREAM_AFTER_BYTES are gathered first: a body that
 * fits is sent whole with Content-Length (a deadline passed meanwhile is still a 504, a body past
 * `maxBytes` a 400). A larger one is streamed with backpressure (the next piece is made only when
 * the socket has taken the last); if the deadline passes or the body outgrows `maxBytes` by then,
 * the status line is out, so the connection is closed and the client sees a truncated body.
 * Resolves when the response is finished or the connection closed.
 */
async function sendJson(reply: FastifyReply, pieces: Iterator<string>, signal: AbortSignal, expired: () => boolean, maxBytes: number): Promise<void> {
  const tooLarge = (bytes: number) =>
    new HttpError(
      400,
      'BUDGET_EXCEEDED',
      `The response grew past ${maxBytes} bytes (server.limits.maxResponseBytes); ask for a smaller k, fewer queries, shorter snippets or explain: false.`,
      undefined,
      {},
      { name: 'maxResponseBytes', max: maxBytes, asked: bytes },
    );
  const head: string[] = [];
  let bytes = 0;
  let done = false;
  while (bytes < STREAM_AFTER_BYTES) {
    if (expired()) throw signal.reason;
    const next = pieces.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    bytes += Buffer.byteLength(next.value);
    if (bytes > maxBytes) throw tooLarge(bytes);
  }
  if (expired()) throw signal.reason;
  void reply.type('application/json; charset=utf-8');
  const closed = new Promise<void>((resolve) => reply.raw.once('close', () => resolve()));
  if (done) {
    void reply.send(head.join(''));
    return closed;
  }
  let first: string | undefined = head.join('');
  const stream = new Readable({
    highWaterMark: STREAM_AFTER_BYTES,
    read() {
      try {
        if (first !== undefined) {
          const chunk = first;
          first = undefined;
          if (!this.push(chunk)) return;
        }
        for (;;) {
          if (expired()) return void this.destroy(signal.reason as Error);
          const next = pieces.next();
          if (next.done) return void this.push(null);
          bytes += Buffer.byteLength(next.value);
          if (bytes > maxBytes) return void this.destroy(tooLarge(bytes));
          if (!this.push(next.value)) return;
        }
      } catch (error) {
        this.destroy(error as Error);
      }
    },
  });
  // A reader too slow to take the body before the deadline loses the connection then, not at its next read.
  const onAbort = () => {
    stream.destroy(signal.reason as Error);
    reply.raw.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  void reply.send(stream);
  try {
    await closed;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The Host header's name: lower case, port and brackets removed. */
function hostName(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined) : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

/** Loopback names and IP literals always (no page can make a browser send another site's IP as its own Host), plus `allowed`. */
function hostMatcher(allowed: readonly string[]): (host: string) => boolean {
  const exact = new Set(allowed.filter((a) => !a.startsWith('*.')).map((a) => a.toLowerCase()));
  const suffixes = allowed.filter((a) => a.startsWith('*.')).map((a) => a.slice(1).toLowerCase());
  return (host) => host === 'localhost' || host.endsWith('.localhost') || isIP(host) !== 0 || exact.has(host) || suffixes.some((s) => host.endsWith(s));
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
  /** Host names to answer besides the config's `server.allowedHosts`, loopback names and IP addresses. */
  allowedHosts?: readonly string[];
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
  const host = options.host ?? config.host ?? DEFAULT_HOST;
  // A name the server is told to bind is a name clients use for it.
  const allowedHosts = [...(config.allowedHosts ?? []), ...(options.allowedHosts ?? []), ...(isIP(host) === 0 ? [host] : [])];
  const app = createServer({ pipelines: served, limits: config.limits, allowedHosts, log: options.log });
  try {
    const started = performance.now();
    for (const p of await loadPipelines(config, registry, {
      signal: options.signal,
      onLoaded: (p) =>
        app.log.info(
          { event: 'pipeline_loaded', pipeline: p.name, source: p.source.kind, documents: p.pipeline.docs.size, cached: p.cached, seconds: round(p.loadSeconds) },
          `pipeline "${p.name}" ready`,
        ),
    })) {
      served.set(p.name, p);
    }
    const port = options.port ?? config.port ?? DEFAULT_PORT;
    if (!isLoopback(host))
      app.log.warn({ event: 'non_loopback', host }, `listening on ${host}, which is reachable from other machines; the server has no authentication, so put it behind a proxy that has`);
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
