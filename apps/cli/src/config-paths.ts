import { ConfigError, safeJoin, type PipelineConfig, type PluginKind, type PluginRegistry } from '@quarry/core';

/**
 * Resolves the path options of every stage (those its plugin lists in `pathOptions`: model
 * folders, cache folders) relative to `baseDir`, the folder of the config file they were
 * written in, refusing any that leave it (`..`, absolute paths elsewhere): a config file only
 * reaches what lies beside or below it. Paths given as command-line flags are the user's own
 * choice and are applied afterwards, as given. Stages of unknown plugins are left to the registry.
 */
export function resolvePathOptions(config: PipelineConfig, registry: PluginRegistry, baseDir: string, file: string): void {
  const stages: [PluginKind, { plugin: string; options: Record<string, unknown> }, string][] = [
    ...config.retrievers.map((s, i) => ['retriever', s, `retrievers[${i}]`] as [PluginKind, typeof s, string]),
    ...(config.rewriter ? [['rewriter', config.rewriter, 'rewriter'] as [PluginKind, typeof config.rewriter, string]] : []),
    ...(config.reranker ? [['reranker', config.reranker, 'reranker'] as [PluginKind, typeof config.reranker, string]] : []),
  ];
  for (const [kind, stage, at] of stages) {
    if (!registry.has(kind, stage.plugin)) continue;
    for (const name of registry.get(kind, stage.plugin).pathOptions ?? []) {
      const value = stage.options[name];
      if (typeof value !== 'string' || value === '') continue; // the plugin's schema reports wrong types
      try {
        stage.options[name] = safeJoin(baseDir, value);
      } catch {
        const path = `${at}.options.${name}`;
        throw new ConfigError(
          `${file}: ${path} is "${value}", which lies outside the config file's folder ${baseDir}. Paths in a config file resolve relative to it ` +
            'and must stay inside it (no "..", no absolute paths elsewhere): move the file, link the folder in (ln -s), or give the path as a command-line flag.',
          [{ path, message: "path leaves the config file's folder" }],
        );
      }
    }
  }
}
