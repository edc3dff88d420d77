import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

const EXAMPLE = 'send a JSON object such as {"pipeline": "bm25", "query": "...", "k": 10}';

/**
 * Reads a JSON request body with a size limit and a deadline. Fastify's own parser only
 * bounds the size; here a client that trickles its body (or stops sending it) gets a 408
 * with a message once `timeoutMs` has passed, instead of holding a connection open. Errors
 * carry `Connection: close`, since the rest of the body is never read.
 */
export function readJsonBody(req: IncomingMessage, limitBytes: number, timeoutMs: number): Promise<unknown> {
  const close = { connection: 'close' };
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding !== 'identity') {
    return Promise.reject(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding}" is not supported; send the JSON body uncompressed.`, undefined, close));
  }
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && declared > limitBytes) {
    return Promise.reject(tooLarge(`declares ${declared} bytes`, limitBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error: HttpError | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) {
        // Stop reading: the response closes the connection.
        req.pause();
        reject(error);
      } else resolve(value);
    };
    const timer = setTimeout(() => {
      finish(
        new HttpError(
          408,
          'BODY_TIMEOUT',
          `The request body did not arrive within ${timeoutMs} ms (${size} bytes received${declared !== undefined ? ` of ${declared}` : ''}); send the whole body at once.`,
          undefined,
          close,
        ),
      );
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) finish(tooLarge(`sent more than ${limitBytes} bytes`, limitBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks, size).toString('utf8');
      if (text.trim() === '') {
        finish(new HttpError(400, 'INVALID_JSON', `The request body is empty; ${EXAMPLE}.`));
        return;
      }
      try {
        finish(undefined, JSON.parse(text));
      } catch (error) {
        finish(new HttpError(400, 'INVALID_JSON', `The request body is not valid JSON (${(error as Error).message}); ${EXAMPLE}.`));
      }
    };
    const onError = (error: Error) => finish(new HttpError(400, 'INVALID_JSON', `The request body could not be read: ${error.message}.`, undefined, close));
    const onAborted = () => finish(new HttpError(400, 'INVALID_JSON', 'The client closed the connection before the body was complete.', undefined, close));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function tooLarge(what: string, limitBytes: number): HttpError {
  return new HttpError(413, 'BODY_TOO_LARGE', `The request body ${what}; this server accepts at most ${limitBytes} bytes (server.limits.bodyBytes). Send fewer or shorter queries.`, undefined, {
    connection: 'close',
  });
}
