import { basename, resolve } from 'node:path';
import { ConfigError, type PipelineConfig } from '@quarry/core';

/** Retriever plugins whose vectors `--store` moves into Postgres, and the plugin that does it. */
const STORE_VARIANTS: Readonly<Record<string, string>> = { dense: 'dense-pg' };

/**
 * `--store postgres://...`: every `dense` retriever of the pipeline becomes a `dense-pg`
 * retriever (@quarry/store-pgvector) with the same options, its vectors kept in Postgres +
 * pgvector. The flags of `dense-pg` (`--store-table`, `--store-reset`, ...) then apply.
 */
export function routeToStore(config: PipelineConfig, flags: Record<string, unknown>): void {
  const url = flags['store'];
  if (url === undefined) return;
  let routed = 0;
  for (const stage of config.retrievers) {
    const variant = STORE_VARIANTS[stage.plugin];
    if (variant) {
      stage.plugin = variant;
      routed++;
    }
    // One store per corpus: the dataset folder's name keys its tables (--store-collection overrides).
    if (stage.plugin === 'dense-pg' && typeof flags['dataset'] === 'string' && stage.options['collection'] === undefined) stage.options['collection'] = basename(resolve(flags['dataset']));
  }
  if (routed === 0 && !config.retrievers.some((s) => Object.values(STORE_VARIANTS).includes(s.plugin))) {
    throw new ConfigError(`--store keeps dense vectors in Postgres, but pipeline "${config.name}" has no dense retriever (${config.retrievers.map((s) => s.plugin).join(', ')}).`);
  }
}
