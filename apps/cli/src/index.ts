export { main, commands, type MainIO } from './main.js';
export { builtinPipelines, availablePipelines, resolvePipeline } from './pipelines.js';
export { defaultRegistry, bundledPlugins } from './plugins.js';
export { runEvaluation, REPORTED_METRICS, type EvalReport } from './evaluation.js';
export { buildOrLoadPipeline, cacheRoot, pipelineCacheKey } from './cache.js';
export { bundledDataset } from './commands/demo.js';
export { registerExternalPlugins, allowedPlugins, PLUGINS_ENV, type ExternalPluginOptions } from './external-plugins.js';
export { readConfigFile } from './config-file.js';
export { resolvePathOptions } from './config-paths.js';
