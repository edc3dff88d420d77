import { PluginRegistry, type Plugin } from '@quarry/core';
import { bm25Plugin } from '@quarry/bm25';
import { boolPlugin } from '@quarry/bool-attn';
import { colbertPlugin, colbertRetrieverPlugin } from '@quarry/colbert';
import { densePlugin } from '@quarry/encoders';
import { lamerDensePlugin, lamerPlugin, lamerRewriterPlugin } from '@quarry/lamer';
import { llm2grPlugin } from '@quarry/llm2gr';
import { densePgPlugin } from '@quarry/store-pgvector';

/** Every plugin this CLI ships with. New packages add their plugins here. */
export const bundledPlugins: readonly Plugin[] = [
  bm25Plugin as Plugin,
  densePlugin as Plugin,
  colbertPlugin as Plugin,
  colbertRetrieverPlugin as Plugin,
  lamerPlugin as Plugin,
  lamerRewriterPlugin as Plugin,
  lamerDensePlugin as Plugin,
  boolPlugin as Plugin,
  llm2grPlugin as Plugin,
  densePgPlugin as Plugin,
];

export function defaultRegistry(): PluginRegistry {
  return new PluginRegistry().register(...bundledPlugins);
}
