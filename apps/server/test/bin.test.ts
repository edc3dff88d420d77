import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFolder, getJson, postJson } from './helpers.js';

// End to end through the built binaries, as a user runs them (nx builds both before testing).
const quarryBin = join(__dirname, '../../cli/dist/bin.js');
const serverBin = join(__dirname, '../dist/bin.js');

interface Started {
  child: ChildProcessWithoutNullStreams;
  url: string;
  lines: Record<string, unknown>[];
  exit: Promise<number | null>;
}

function start(bin: string, args: string[], env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffer = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening" log line within 60 s; stderr: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.stdout.on('data', (d) => {
      buffer += String(d);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry['event'] === 'listening') {
          clearTimeout(timer);
          resolve({ child, url: String(entry['url']), lines, exit });
        }
      }
    });
    void exit.then((code) => reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`)));
  });
}

function run(bin: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [bin, ...args]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

// One pipeline cache for the file: the second server loads what the first built.
const cache = mkdtempSync(join(tmpdir(), 'quarry-server-bin-cache-'));

describe.skipIf(!existsSync(quarryBin) || !existsSync(serverBin))('quarry serve and quarry-server binaries', () => {
  it('quarry serve loads the config, answers on loopback and shuts down cleanly on SIGTERM', async () => {
    const { file } = configFolder('pipelines:\n  bm25: { dataset: scifact, pipeline: bm25 }\n');
    const server = await start(quarryBin, ['serve', '--config', file, '--port', '0'], { QUARRY_CACHE_DIR: cache });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await getJson(`${server.url}/healthz`)).body).toMatchObject({ status: 'ok', pipelines: ['bm25'] });
    const search = await postJson(`${server.url}/search`, { pipeline: 'bm25', query: 'vitamin D deficiency is linked to multiple sclerosis', k: 1 });
    expect(search.body.hits[0].id).toBe('22843838');
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(server.lines.map((l) => l['event']).filter(Boolean)).toEqual(['pipeline_loaded', 'listening', 'closing']);
  });

  it('quarry-server takes the same options and stops on SIGINT', async () => {
    const { file } = configFolder(JSON.stringify({ pipelines: { lexical: { dataset: 'scifact', pipeline: 'bm25' } }, server: { port: 0 } }), 'serve.json');
    const server = await start(serverBin, ['--config', file, '--log-level', 'debug'], { QUARRY_CACHE_DIR: cache });
    expect((await getJson(`${server.url}/pipelines`)).body.pipelines[0].name).toBe('lexical');
    server.child.kill('SIGINT');
    expect(await server.exit).toBe(0);
  });

  it('fails fast with exit 2 and a message on a bad config, and prints help', async () => {
    const { file } = configFolder('pipelines:\n  bm25: { dataset: ../elsewhere }\n');
    for (const bin of [[quarryBin, 'serve'], [serverBin]]) {
      const bad = await run(bin[0]!, [...bin.slice(1), '--config', file, '--port', '0']);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/error \[CONFIG_INVALID\]: Invalid server config .*pipeline "bm25" names "\.\.\/elsewhere", which lies outside the config file's folder/);
    }
    const { file: unknown } = configFolder('pipelines:\n  bm25: { dataset: scifact, pipeline: no-such-pipeline }\n');
    const missing = await run(serverBin, ['--config', unknown, '--port', '0']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/pipeline "bm25": "no-such-pipeline" is neither a built-in pipeline nor a pipeline file/);
    const help = await run(serverBin, ['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: quarry-server --config FILE/);
    const port = await run(serverBin, ['--config', unknown, '--port', 'eighty']);
    expect(port.code).toBe(2);
    expect(port.err).toMatch(/--port must be an integer from 0 to 65535, got "eighty"/);
  });
});
