import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

export const scifact = join(__dirname, '../../../datasets/scifact');

/** Points the pipeline cache at a fresh temporary folder (never the user's). */
export function useTemporaryCache(): void {
  process.env['QUARRY_CACHE_DIR'] = mkdtempSync(join(tmpdir(), 'quarry-server-cache-'));
}

/**
 * A config folder with SciFact linked in (config paths may not leave the config's folder)
 * and a config file holding `body`; returns the config file's path.
 */
export function configFolder(body: string, name = 'pipelines.yaml'): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-server-config-'));
  symlinkSync(scifact, join(dir, 'scifact'));
  const file = join(dir, name);
  writeFileSync(file, body);
  return { dir, file };
}

/** Collects pino's JSON lines. */
export function logSink(): { stream: Writable; lines: Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
    get lines() {
      return chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection. */
  closed: boolean;
}

/**
 * Talks HTTP/1.1 over a plain socket, so a test can send what fetch never would:
 * broken JSON, lying Content-Length, half a body then silence. `parts` are written in
 * order with `pauseMs` between them; resolves with the first response (or what arrived
 * when the server closed the connection).
 */
export function rawRequest(url: string, parts: (string | Buffer)[], options: { pauseMs?: number; timeoutMs?: number } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let data = Buffer.alloc(0);
    let closed = false;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no complete response within ${options.timeoutMs ?? 15000} ms; got: ${data.toString().slice(0, 300)}`)), options.timeoutMs ?? 15000);
    const finish = (error?: Error) => {
      if (done) return;
      const parsed = parse(data);
      if (!error && !parsed && !closed) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error && !parsed) reject(error);
      else if (!parsed) reject(new Error(`connection closed without a response (${data.length} bytes)`));
      else resolve({ ...parsed, closed });
    };
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => {
      // EPIPE/ECONNRESET while still writing a body the server refused: the response may already be in.
      closed = true;
      finish();
    });
    socket.on('connect', async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
        if (socket.destroyed) return;
        socket.write(part);
      }
    });
  });
}

function parse(data: Buffer): Omit<RawResponse, 'closed'> | undefined {
  const text = data.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const status = Number(statusLine!.split(' ')[1]);
  const rest = data.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
  if (length !== undefined) {
    if (rest.length < length) return undefined;
    return { status, headers, body: rest.subarray(0, length).toString('utf8') };
  }
  if (headers['transfer-encoding'] === 'chunked') {
    // Enough for short JSON bodies: wait for the terminating chunk, then join the chunks.
    const raw = rest.toString('utf8');
    if (!raw.includes('\r\n0\r\n\r\n') && !raw.startsWith('0\r\n\r\n')) return undefined;
    let body = '';
    let i = 0;
    for (;;) {
      const lineEnd = raw.indexOf('\r\n', i);
      const size = parseInt(raw.slice(i, lineEnd), 16);
      if (!size) break;
      body += raw.slice(lineEnd + 2, lineEnd + 2 + size);
      i = lineEnd + 2 + size + 2;
    }
    return { status, headers, body };
  }
  return { status, headers, body: '' };
}

/** A JSON POST as raw HTTP text. */
export function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = { host: 'localhost', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers };
  return `POST ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${body.toString()}`;
}

export async function getJson(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: await response.json() };
}
