import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRegistry, resolvePipeline } from '../src/index.js';
import { cli, scifact } from './helpers.js';

// Issue #15 S7 (config half): path options written in a pipeline file (model and cache folders)
// resolve under the file's folder and may not leave it; command-line flags stay as given.

function pipelineFile(yaml: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-paths-'));
  mkdirSync(join(dir, 'conf'));
  const file = join(dir, 'conf', 'pipeline.yaml');
  writeFileSync(file, yaml);
  return { dir, file };
}

describe('path options in pipeline files', () => {
  it('resolve relative to the file, not the working directory', async () => {
    const { dir, file } = pipelineFile('retrievers:\n  - plugin: dense\n    options: { encoder: models/mine }\n  - plugin: lamer\n    options: { llmCacheDir: cache/../llm-cache, encoder: ./sel }\n');
    const config = await resolvePipeline(file, defaultRegistry());
    expect(config.retrievers[0]!.options['encoder']).toBe(join(dir, 'conf', 'models', 'mine'));
    expect(config.retrievers[1]!.options['llmCacheDir']).toBe(join(dir, 'conf', 'llm-cache'));
    expect(config.retrievers[1]!.options['encoder']).toBe(join(dir, 'conf', 'sel'));
  });

  it("that leave the file's folder (.., absolute elsewhere) are refused with CONFIG_INVALID naming the option", async () => {
    const cases = [
      ['dense', 'encoder', '../elsewhere'],
      ['dense', 'encoder', 'models/../../elsewhere'],
      ['dense', 'encoder', '/etc'],
      ['lamer', 'llmCacheDir', 'dir/../../elsewhere'],
      ['lamer', 'denseEncoder', '..'],
      ['llm2gr', 'model', '../../tokenizer'],
      ['colbert', 'encoder', tmpdir()],
      ['bool', 'encoder', '../x'],
    ] as const;
    for (const [plugin, option, value] of cases) {
      const { file } = pipelineFile(`retrievers:\n  - plugin: ${plugin}\n    options: { ${option}: ${JSON.stringify(value)} }\n`);
      const r = await cli('eval', '--dataset', scifact, '--pipeline', file);
      expect(r.code, `${plugin}.${option}: ${value}`).toBe(2);
      expect(r.err).toContain(`error [CONFIG_INVALID]: ${file}: retrievers[0].options.${option} is "${value}", which lies outside the config file's folder`);
    }
  });

  it("a command-line flag is the user's explicit choice and stays as given (absolute or relative to the working directory)", async () => {
    const { file } = pipelineFile('retrievers:\n  - plugin: dense\n    options: { encoder: models/mine }\n');
    const config = await resolvePipeline(file, defaultRegistry(), { encoder: '/opt/models/e5' });
    expect(config.retrievers[0]!.options['encoder']).toBe('/opt/models/e5');
  });
});
