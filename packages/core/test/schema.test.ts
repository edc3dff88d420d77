import { describe, expect, it } from 'vitest';
import { ConfigError, PluginNotFoundError, PluginRegistry, checkOptions, closestMatch, definePlugin, parseConfig, parsePipelineConfig, runtimeOptionsShape, z, type Hit } from '../src/index.js';

const bm25Like = definePlugin({
  kind: 'retriever',
  name: 'bm25',
  description: 'test',
  schema: z.object({ k1: z.number().default(0.9), b: z.number().default(0.4), analyzer: z.enum(['english', 'simple']).default('english') }).strict(),
  create: async () => ({ name: 'x', search: async (): Promise<Hit[]> => [], searchBatch: async (): Promise<Hit[][]> => [] }),
});
const registry = new PluginRegistry().register(bm25Like);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config validation messages', () => {
  it('names the file, the full path and the closest valid key of a misspelled plugin option', () => {
    const error = configError(() => parsePipelineConfig({ retrievers: [{ plugin: 'bm25', options: { bb: 0.5 } }] }, registry, { file: 'pipes/p.yaml' }));
    expect(error.file).toBe('pipes/p.yaml');
    expect(error.issues).toEqual([{ path: 'retrievers[0].options.bb', message: 'Unrecognized key: "bb" (did you mean "b"?)', key: 'bb', suggestion: 'b' }]);
    expect(error.message).toBe('Invalid options for retriever plugin "bm25" in pipes/p.yaml:\n  - retrievers[0].options.bb: Unrecognized key: "bb" (did you mean "b"?)');
  });

  it('suggests keys of the object the key was found in, nested and inside the matching union branch', () => {
    const pipeline = configError(() => parsePipelineConfig({ retrievers: [{ plugin: 'bm25' }], fusion: { method: 'weighted', normalisation: 'zscore' }, dpeth: 10 }, undefined, { file: 'f.json' }));
    expect(pipeline.issues.map((i) => [i.path, i.suggestion])).toEqual([
      ['fusion.normalisation', 'normalization'],
      ['dpeth', 'depth'],
    ]);
    // `k` belongs to the rrf branch only, so it is not offered for a weighted fusion.
    const branch = configError(() => parsePipelineConfig({ retrievers: [{ plugin: 'bm25' }], fusion: { method: 'weighted', k: 1 } }));
    expect(branch.issues[0]!.message).toBe('Unrecognized key: "k" (valid keys: method, weights, normalization)');
    const nested = configError(() =>
      parseConfig(z.strictObject({ server: z.strictObject({ limits: z.strictObject({ maxK: z.number().optional() }).optional() }) }), { server: { limits: { maxk: 1 } } }, 'x'),
    );
    expect(nested.issues[0]).toMatchObject({ path: 'server.limits.maxk', suggestion: 'maxK' });
  });

  it('lists the valid keys when nothing is close, and only suggests plausible typos', () => {
    expect(closestMatch('bb', ['k1', 'b', 'analyzer'])).toBe('b');
    expect(closestMatch('anlayzer', ['k1', 'b', 'analyzer'])).toBe('analyzer');
    expect(closestMatch('fields', ['k1', 'b', 'analyzer', 'signal'])).toBeUndefined();
    expect(closestMatch('m', ['M', 'ef'])).toBe('M');
  });

  it('suggests the closest plugin name and says where the name was written', () => {
    const error = (() => {
      try {
        parsePipelineConfig({ retrievers: [{ plugin: 'bm52' }] }, registry, { file: 'p.yaml' });
      } catch (e) {
        return e as PluginNotFoundError;
      }
      throw new Error('expected a PluginNotFoundError');
    })();
    expect(error).toBeInstanceOf(PluginNotFoundError);
    expect(error.suggestion).toBe('bm25');
    expect(error.message).toBe('p.yaml: retrievers[0].plugin: Unknown retriever plugin "bm52" (did you mean "bm25"?). Available retriever plugins: bm25.');
  });

  it('checkOptions rejects unknown options with a suggestion and accepts runtime options', () => {
    const schema = z.object({ k1: z.number().optional(), total: z.number().optional(), ...runtimeOptionsShape });
    expect(() => checkOptions(schema, { k1: 1, signal: new AbortController().signal, onProgress: () => {} }, 'X options')).not.toThrow();
    expect(() => checkOptions(schema, undefined, 'X options')).not.toThrow();
    const error = configError(() => checkOptions(schema, { totl: 3 }, 'X options'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('Invalid X options:\n  - totl: Unrecognized key: "totl" (did you mean "total"?)');
    expect(configError(() => checkOptions(schema, { signal: 'stop' }, 'X options')).message).toMatch(/signal: must be an AbortSignal/);
  });
});
