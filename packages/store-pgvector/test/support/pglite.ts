import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'pglite-server.mjs');

/**
 * A PGlite (Postgres 17 + pgvector) server in a child process, on a loopback port,
 * spoken to over the wire protocol by `pg` exactly as a real server would be. With a
 * data folder (the default) it survives `kill('SIGKILL')` + `start()` on the same port,
 * which is how tests make "the database go away" mid-operation.
 */
export class PgliteServer {
  port = 0;
  #child: ChildProcess | undefined;
  readonly dataDir: string;

  /** `template`: an initialised data folder to copy into a new `dataDir` (skips initdb). */
  constructor(options: { dataDir?: string; template?: string } = {}) {
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'quarry-pglite-'));
    if (options.template && !options.dataDir) cpSync(options.template, this.dataDir, { recursive: true });
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts (or restarts, on the same port once one was assigned) the server; resolves when it accepts connections. */
  async start(): Promise<this> {
    // More server slots than the client pool: a reconnect may overlap the old socket's close.
    const child = spawn(process.execPath, [script, '--data', this.dataDir, '--port', String(this.port), '--max-connections', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    const ready = await new Promise<{ port: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`PGlite server did not start within 60 s: ${stderr}`)), 60_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { port: number });
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`PGlite server exited with ${code}: ${stderr}`));
      });
    });
    this.port = ready.port;
    return this;
  }

  /** Kills the server process (SIGKILL: no goodbye to clients) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await gone;
  }

  /** Stops the server cleanly and deletes its data folder. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function startPglite(template?: string): Promise<PgliteServer> {
  return new PgliteServer(template ? { template } : {}).start();
}
