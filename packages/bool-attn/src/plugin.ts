import { definePlugin, throwIfAborted, z, type Encoder } from '@quarry/core';
import { bundledBoolModelDir, loadBoolEncoder } from './model-file.js';
import { BoolRetriever } from './retriever.js';

const schema = z
  .object({
    model: z.string().min(1).optional().describe('Boolean module folder (default: the bundled scifact-bool)'),
    encoder: z.string().min(1).optional().describe("base encoder folder (default: the bundled model the modules were trained on)"),
    boolean: z.boolean().default(true).describe('apply the Boolean modules to queries; false = the same encoder without them (the baseline)'),
    batchSize: z.number().int().positive().default(1024).describe('documents per encoder call'),
  })
  .strict();

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
  cliOptions: [
    { flag: 'bool-model', option: 'model', type: 'string', description: 'Boolean module folder (default: bundled scifact-bool)' },
  ],
});
