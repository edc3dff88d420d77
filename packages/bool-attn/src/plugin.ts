import { definePlugin, throwIfAborted, type Encoder, type z } from '@quarry/core';
import { bundledBoolModelDir, loadBoolEncoder } from './model-file.js';
import { boolPluginSchema } from './options.js';
import { BoolRetriever } from './retriever.js';

const schema = boolPluginSchema;

export type BoolPluginOptions = z.output<typeof schema>;

async function queryEncoder(options: BoolPluginOptions): Promise<Encoder> {
  const encoder = await loadBoolEncoder(options.model ?? bundledBoolModelDir(), options.encoder ? { encoder: options.encoder } : {});
  return options.boolean ? encoder : encoder.asBaseline();
}

/**
 * The `bool` retriever plugin: documents encoded by the plain own encoder (exact cosine
 * search), queries by the Boolean-aware encoder — or, with `boolean: false`, by the same
 * encoder without the modules.
 */
export const boolPlugin = definePlugin({
  kind: 'retriever',
  name: 'bool',
  description: "Boolean-aware dense retrieval: cue/scope/bias/gate modules bias the own encoder's query pooling (NOT scopes drop out); documents use the plain encoder.",
  schema,
  async create(options: BoolPluginOptions, context) {
    throwIfAborted(context.signal, 'Boolean retriever build');
    const encoder = await queryEncoder(options);
    return BoolRetriever.fromDocs(context.docs, encoder, {
      name: options.boolean ? 'bool' : 'bool-baseline',
      batchSize: options.batchSize,
      total: context.docs.size,
      ...(context.signal ? { signal: context.signal } : {}),
      ...(context.onProgress ? { onProgress: context.onProgress } : {}),
    });
  },
  async load(dir: string, options: BoolPluginOptions) {
    return BoolRetriever.load(dir, await queryEncoder(options), { name: options.boolean ? 'bool' : 'bool-baseline' });
  },
  pathOptions: ['model', 'encoder'],
  cliOptions: [{ flag: 'bool-model', option: 'model', type: 'string', description: 'Boolean module folder (default: bundled scifact-bool)' }],
});
