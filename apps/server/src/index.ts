export { createServer, startServer, serve, DEFAULT_HOST, DEFAULT_PORT, PUBLIC_DIR, type CreateServerOptions, type StartOptions, type RunningServer, type LogOptions } from './server.js';
export { loadServerConfig, parseServerConfig, limitsSchema, PIPELINE_NAME, type ServerConfig, type ServerLimits, type ServerLimitsInput, type PipelineSource } from './config.js';
export { loadPipelines, type ServedPipeline, type LoadOptions } from './load.js';
export { searchRequestSchema, batchRequestSchema, type SearchRequest, type BatchRequest, type SearchResponse, type BatchResponse, type ApiHit, type ApiError } from './schemas.js';
export { HttpError, type ApiErrorCode } from './errors.js';
export { Limiter } from './limiter.js';
export { ServerMetrics, LATENCY_BUCKETS } from './metrics.js';
export { runServeCommand, serveOptions, serveUsage } from './command.js';
