import { describe, expect, it } from 'vitest';
import { OnnxEncoder, OnnxTokenEncoder, bundledModelDir, loadEncoder, loadOwnModel, trainEncoder } from '../src/index.js';
import { configIssue as issue } from '../../../tools/testing/config-error.js';

describe('encoder options (issue #15 item 13)', () => {
  it('rejects unknown options with a suggestion, checked against the quarry-encoder.json schema', async () => {
    const dir = bundledModelDir();
    expect(await issue(() => OnnxEncoder.load(dir, { normalise: false } as never))).toMatchObject({ path: 'normalise', suggestion: 'normalize' });
    expect(await issue(() => OnnxTokenEncoder.load(dir, { thread: 2 } as never))).toMatchObject({ suggestion: 'threads' });
    expect(await issue(() => loadEncoder(dir, { runtme: 'onnx' } as never))).toMatchObject({ suggestion: 'runtime' });
    expect(await issue(() => loadOwnModel(dir, { treads: 2 } as never))).toMatchObject({ suggestion: 'threads' });
    // Values go through the same schema as the config file: a wrong pooling is a ConfigError too.
    expect(await issue(() => OnnxEncoder.load(dir, { pooling: 'median' } as never))).toMatchObject({ path: 'pooling' });
    expect((await loadEncoder(dir, { threads: 1 })).dim).toBeGreaterThan(0);
    // Before any file is read: the data path does not even need to exist.
    expect(await issue(() => trainEncoder({ data: '/no/such.jsonl', epoch: 3 } as never))).toMatchObject({ path: 'epoch', suggestion: 'epochs' });
  });
});
