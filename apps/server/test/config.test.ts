import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@quarry/core';
import { describe, expect, it } from 'vitest';
import { defaultRegistry } from '@quarry/cli';
import { Limiter, ServerMetrics, loadPipelines, loadServerConfig, parseServerConfig } from '../src/index.js';
import { HttpError } from '../src/errors.js';

const builtins = ['bm25', 'dense'];

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('server config', () => {
  it('resolves dataset, pipeline-file and index entries relative to the config file, with default limits', () => {
    const config = parseServerConfig(
      {
        pipelines: {
          bm25: { dataset: 'data/scifact', pipeline: 'bm25' },
          tuned: { dataset: './data/scifact', pipeline: 'pipes/tuned.yaml', cache: false },
          inline: { dataset: 'data/scifact', pipeline: { retrievers: [{ plugin: 'bm25' }] } },
          saved: { index: 'indexes/bm25', description: 'prebuilt' },
        },
        server: { port: 9000, limits: { concurrency: 2 } },
      },
      '/srv/quarry',
      builtins,
    );
    expect(config.port).toBe(9000);
    expect(config.host).toBeUndefined();
    expect(config.limits).toMatchObject({ concurrency: 2, queue: 256, bodyBytes: 65536, timeoutMs: 10000, maxK: 1000 });
    const [bm25, tuned, inline, saved] = config.pipelines;
    expect(bm25).toEqual({ name: 'bm25', source: { kind: 'dataset', dataset: 'data/scifact', datasetDir: '/srv/quarry/data/scifact', pipeline: 'bm25', cache: true, description: undefined } });
    expect(tuned!.source).toMatchObject({ kind: 'dataset', pipelineFile: '/srv/quarry/pipes/tuned.yaml', cache: false });
    expect(inline!.source).toMatchObject({ kind: 'dataset', pipeline: { retrievers: [{ plugin: 'bm25' }] } });
    expect(inline!.source).not.toHaveProperty('pipelineFile');
    expect(saved).toEqual({ name: 'saved', source: { kind: 'index', index: 'indexes/bm25', indexDir: '/srv/quarry/indexes/bm25', description: 'prebuilt' } });
  });

  it('refuses paths that leave the config folder, naming the pipeline and the fix', () => {
    for (const path of ['../scifact', '/etc', 'a/../../b']) {
      const error = configError(() => parseServerConfig({ pipelines: { bm25: { dataset: path } } }, '/srv/quarry', builtins));
      expect(error.message).toMatch(new RegExp(`pipeline "bm25" names "${path.replace(/\./g, '\\.')}", which lies outside the config file's folder /srv/quarry`));
      expect(error.message).toMatch(/ln -s/);
    }
    expect(configError(() => parseServerConfig({ pipelines: { x: { index: '../idx' } } }, '/srv/quarry')).message).toMatch(/outside/);
    expect(configError(() => parseServerConfig({ pipelines: { x: { dataset: 'd', pipeline: '../p.yaml' } } }, '/srv/quarry', builtins)).message).toMatch(/outside/);
  });

  it('lists every offending field of a malformed config', () => {
    expect(configError(() => parseServerConfig({}, '/srv')).message).toMatch(/pipelines: Invalid input: expected record/);
    expect(configError(() => parseServerConfig({ pipelines: {} }, '/srv')).message).toMatch(/name at least one pipeline/);
    const typo = configError(() => parseServerConfig({ pipelines: { a: { dataset: 'd', pipline: 'bm25' } } }, '/srv'));
    expect(typo.message).toMatch(/pipeline "a".*\n.*Unrecognized key: "pipline"/);
    const limits = configError(() => parseServerConfig({ pipelines: { a: { dataset: 'd' } }, server: { port: 70000, limits: { queue: -1, bogus: 1 } } }, '/srv'));
    expect(limits.issues.map((i) => i.path).sort()).toEqual(['server.limits.bogus', 'server.limits.queue', 'server.port']);
    expect(configError(() => parseServerConfig({ pipelines: { 'bad name!': { dataset: 'd' } } }, '/srv')).message).toMatch(/pipeline name "bad name!" must be/);
    expect(configError(() => parseServerConfig({ pipelines: { a: { index: 'i', dataset: 'd' } } }, '/srv')).message).toMatch(/index entry.*\n.*Unrecognized key: "dataset"/);
  });

  it('names the config file, the full path and the closest valid key of a typo, in the file and in inline pipelines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-server-typo-'));
    const file = join(dir, 'playground.yaml');
    writeFileSync(file, 'pipelines:\n  a: { dataset: d, pipline: bm25 }\nserver: { limits: { maxk: 5 } }\n');
    const typo = configError(() => loadServerConfig(file, builtins));
    expect(typo.file).toBe(file);
    expect(typo.message).toBe(`Invalid server config in ${file}:\n  - server.limits.maxk: Unrecognized key: "maxk" (did you mean "maxK"?)`);
    writeFileSync(file, 'pipelines:\n  a: { dataset: d, pipline: bm25 }\n');
    expect(configError(() => loadServerConfig(file, builtins)).message).toMatch(/in .*playground\.yaml:\n {2}- pipelines\.a\.pipline: Unrecognized key: "pipline" \(did you mean "pipeline"\?\)/);
    // An inline pipeline fails before anything is built, naming the file and the option's full path.
    writeFileSync(file, 'pipelines:\n  a:\n    dataset: d\n    pipeline: { retrievers: [{ plugin: bm25, options: { bb: 0.5 } }] }\n');
    const inline = await loadPipelines(loadServerConfig(file, builtins), defaultRegistry()).catch((e: unknown) => e);
    expect(inline).toBeInstanceOf(ConfigError);
    expect((inline as ConfigError).message).toContain(`in ${file}:\n  - pipelines.a.pipeline.retrievers[0].options.bb: Unrecognized key: "bb" (did you mean "b"?)`);
    writeFileSync(file, 'pipelines:\n  a: { dataset: d, pipeline: bm52 }\n');
    const name = await loadPipelines(loadServerConfig(file, builtins), defaultRegistry()).catch((e: unknown) => e);
    expect((name as Error).message).toMatch(/"bm52" is neither a built-in pipeline \(did you mean "bm25"\?\) nor a pipeline file/);
  });

  it('reads YAML and JSON files and reports unreadable ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarry-server-cfg-'));
    writeFileSync(join(dir, 'a.yaml'), 'pipelines:\n  bm25: { dataset: scifact }\nserver: { host: 127.0.0.1 }\n');
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ pipelines: { d: { index: 'idx' } } }));
    writeFileSync(join(dir, 'c.yaml'), 'pipelines: [unclosed\n');
    expect(loadServerConfig(join(dir, 'a.yaml'), builtins).pipelines[0]!.source).toMatchObject({ datasetDir: join(dir, 'scifact'), pipeline: 'bm25' });
    expect(loadServerConfig(join(dir, 'b.json')).pipelines[0]!.source).toMatchObject({ indexDir: join(dir, 'idx') });
    expect(configError(() => loadServerConfig(join(dir, 'c.yaml'))).message).toMatch(/Could not parse server config .*c\.yaml/);
    expect(configError(() => loadServerConfig(join(dir, 'missing.yaml'))).message).toMatch(/Could not read server config .*missing\.yaml: no such file/);
  });
});

describe('Limiter', () => {
  const gate = () => {
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    return { promise, open };
  };

  it('runs at most `concurrency` tasks, queues `queue` more in order, and refuses the rest with 503 + Retry-After', async () => {
    const limiter = new Limiter(2, 1, 7);
    const order: number[] = [];
    const gates = [gate(), gate(), gate()];
    const runs = gates.map((g, i) =>
      limiter.run(async () => {
        order.push(i);
        await g.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect([limiter.active, limiter.waiting]).toEqual([2, 1]);
    const refused = await limiter.run(async () => 99).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ status: 503, apiCode: 'OVERLOADED', headers: { 'retry-after': '7' } });
    expect((refused as HttpError).message).toMatch(/2 searching, 1 waiting/);
    gates[0]!.open();
    await runs[0];
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual([0, 1, 2]);
    gates[1]!.open();
    gates[2]!.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  it('drops a waiting task whose signal fires and releases slots when tasks fail', async () => {
    const limiter = new Limiter(1, 5);
    const g = gate();
    const first = limiter.run(() => g.promise);
    const controller = new AbortController();
    const waiting = limiter.run(async () => 'never', controller.signal);
    expect(limiter.waiting).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ status: 503 });
    expect(limiter.waiting).toBe(0);
    g.open();
    await first;
    await expect(
      limiter.run(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(limiter.active).toBe(0);
  });
});

describe('ServerMetrics', () => {
  it('renders counters, histograms and gauges in the Prometheus text format', () => {
    const metrics = new ServerMetrics(() => ({ searching: 1, waiting: 2, pipelines: [{ name: 'bm25', docs: 5183 }] }));
    metrics.requests.inc({ route: '/search', method: 'POST', status: '200' });
    metrics.requests.inc({ route: '/search', method: 'POST', status: '200' });
    metrics.requests.inc({ route: 'a"b\\c', method: 'GET', status: '404' });
    metrics.latency.observe({ route: '/search' }, 0.003);
    metrics.latency.observe({ route: '/search' }, 20);
    const text = metrics.render();
    expect(text).toContain('quarry_http_requests_total{route="/search",method="POST",status="200"} 2');
    expect(text).toContain('quarry_http_requests_total{route="a\\"b\\\\c",method="GET",status="404"} 1');
    expect(text).toContain('quarry_http_request_duration_seconds_bucket{route="/search",le="0.0025"} 0');
    expect(text).toContain('quarry_http_request_duration_seconds_bucket{route="/search",le="0.005"} 1');
    expect(text).toContain('quarry_http_request_duration_seconds_bucket{route="/search",le="10"} 1');
    expect(text).toContain('quarry_http_request_duration_seconds_bucket{route="/search",le="+Inf"} 2');
    expect(text).toContain('quarry_http_request_duration_seconds_count{route="/search"} 2');
    expect(text).toContain('quarry_search_queued 2');
    expect(text).toContain('quarry_pipeline_documents{pipeline="bm25"} 5183');
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [-+\d.eE]+|\w+(\{[^}]*\})? (NaN|\+Inf))$/);
  });
});
