#!/usr/bin/env node
// A Postgres 17 + pgvector 0.8.1 server for tests and benchmarks: PGlite (WASM) behind
// @electric-sql/pglite-socket's PGLiteSocketServer on loopback, spoken to over the real
// wire protocol. Not shipped (see "files" in package.json); never used by the library.
//
//   node scripts/pglite-server.mjs [--data DIR] [--port N] [--max-connections N]
//
// Prints one JSON line {"port":N,"pid":N} on stdout once it accepts connections (and
// sends the same object over IPC when forked). SIGTERM/SIGINT stop it cleanly; SIGKILL
// is the "database went away" fault the tests inject (with --data, everything committed
// survives: PGlite writes its files through to disk).
//
// Why the handler is patched. pglite-socket 0.1.6 hands every wire message to PGlite as
// its own `execProtocolRawStream` call. Two things break with that:
//  1. COPY ... FROM STDIN: the CopyData/CopyDone messages must reach PGlite in the same
//     call as the query; a separate call aborts the WASM backend (the whole server dies;
//     upstream: electric-sql/pglite PR #1028, open).
//  2. An error inside an extended-protocol batch (Parse/Bind/Execute/Sync) leaves one
//     extra ReadyForQuery behind, so the *next* query on the connection silently gets an
//     empty result.
// The replacement `handleData` below frames messages into protocol units and submits each
// unit in one call: a simple Query; an extended batch up to its Sync (or Flush); a COPY
// FROM STDIN query together with its CopyData..CopyDone/CopyFail (answering the client's
// wait with a synthesized CopyInResponse and dropping PGlite's own). Units are still
// queued through the server's QueryQueueManager, so multiplexing across connections and
// transaction pinning are the stock ones.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import { PGLiteSocketHandler, PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    port: { type: 'string', default: '0' },
    'max-connections': { type: 'string', default: '1' },
  },
});

const COPY_FROM_STDIN = /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i;
const COPY_BINARY = /\bformat\s+binary\b|\bbinary\b/i;

function copyInResponse(binary) {
  // 'G', length, overall format, 0 columns (clients do not read the per-column formats).
  const b = Buffer.alloc(1 + 4 + 1 + 2);
  b.write('G', 0, 'latin1');
  b.writeInt32BE(4 + 1 + 2, 1);
  b.writeInt8(binary ? 1 : 0, 5);
  b.writeInt16BE(0, 6);
  return b;
}

/** Drops the first `skip` bytes of a response stream (PGlite's own CopyInResponse). */
function skipper(skipType, write) {
  let pending = Buffer.alloc(0);
  let done = false;
  return (chunk) => {
    if (done) return write(chunk);
    pending = Buffer.concat([pending, Buffer.from(chunk)]);
    if (pending.length < 5) return;
    if (String.fromCharCode(pending[0]) !== skipType) {
      done = true;
      const out = pending;
      pending = Buffer.alloc(0);
      return write(out);
    }
    const len = 1 + pending.readInt32BE(1);
    if (pending.length < len) return;
    done = true;
    const rest = pending.subarray(len);
    pending = Buffer.alloc(0);
    if (rest.length) write(rest);
  };
}

PGLiteSocketHandler.prototype.handleData = function handleData(data) {
  if (!this.socket || !this.active) return Promise.resolve(0);
  this.messageBuffer = Buffer.concat([this.messageBuffer, data]);
  // Data events arrive through setImmediate without waiting for each other: drain in order.
  this.quarryChain = (this.quarryChain ?? Promise.resolve()).then(() => drain(this));
  return this.quarryChain;
};

async function drain(h) {
  h.quarryUnit ??= [];
  while (h.active && h.socket) {
    const buf = h.messageBuffer;
    let len;
    let type;
    if (!h.quarryStarted) {
      if (buf.length < 8) return;
      len = buf.readInt32BE(0);
      type = 'startup';
    } else {
      if (buf.length < 5) return;
      type = String.fromCharCode(buf[0]);
      len = 1 + buf.readInt32BE(1);
    }
    if (buf.length < len) return;
    const message = buf.subarray(0, len);
    h.messageBuffer = buf.subarray(len);

    if (type === 'startup') {
      const code = message.readInt32BE(4);
      if (code === 80877103 || code === 80877104) {
        h.socket.write(Buffer.from('N')); // no SSL / GSS encryption here
        continue;
      }
      h.quarryStarted = true;
      await submit(h, [message]);
      continue;
    }
    if (type === 'X') {
      h.socket.end();
      return;
    }
    if (h.quarryCopy) {
      h.quarryCopy.push(message);
      if (type === 'c' || type === 'f') {
        const unit = h.quarryCopy;
        h.quarryCopy = undefined;
        await submit(h, unit, 'G');
      }
      continue;
    }
    if (type === 'Q') {
      const sql = message.subarray(5, message.length - 1).toString('utf8');
      if (COPY_FROM_STDIN.test(sql)) {
        h.quarryCopy = [message];
        h.socket.write(copyInResponse(COPY_BINARY.test(sql)));
        continue;
      }
      await submit(h, [message]);
      continue;
    }
    h.quarryUnit.push(message);
    if (type === 'S' || type === 'H') {
      const unit = h.quarryUnit;
      h.quarryUnit = [];
      await submit(h, unit);
    } else if (!'PBDECd'.includes(type)) {
      // Anything else (password, function call...) goes on its own.
      const unit = h.quarryUnit;
      h.quarryUnit = [];
      await submit(h, unit);
    }
  }
}

/**
 * Splits a response stream into messages and holds back ReadyForQuery: PGlite answers an
 * error inside an extended batch with ErrorResponse, ReadyForQuery, then the Sync's own
 * ReadyForQuery. A unit ends with exactly one Sync or Query, so exactly one ReadyForQuery
 * (the last, which carries the transaction state after the Sync) goes to the client.
 */
function readyFilter(write) {
  let pending = Buffer.alloc(0);
  let ready;
  return {
    push(chunk) {
      pending = pending.length ? Buffer.concat([pending, Buffer.from(chunk)]) : Buffer.from(chunk);
      let pos = 0;
      let flushFrom = 0;
      while (pending.length - pos >= 5) {
        const len = 1 + pending.readInt32BE(pos + 1);
        if (pending.length - pos < len) break;
        if (pending[pos] === 0x5a /* Z */) {
          if (pos > flushFrom) write(pending.subarray(flushFrom, pos));
          ready = Buffer.from(pending.subarray(pos, pos + len));
          flushFrom = pos + len;
        }
        pos += len;
      }
      if (pos > flushFrom) write(pending.subarray(flushFrom, pos));
      pending = pending.subarray(pos);
    },
    end() {
      if (pending.length) write(pending);
      if (ready) write(ready);
    },
  };
}

async function submit(h, messages, dropFirst) {
  let writeError;
  const write = (chunk) => {
    if (chunk.length > 0 && h.socket?.writable && h.active) {
      h.socket.write(Buffer.from(chunk), (err) => {
        if (err) writeError = err;
      });
    }
  };
  const startup = !h.quarryStartupDone;
  h.quarryStartupDone = true;
  const filter = startup ? { push: write, end() {} } : readyFilter(write);
  const onData = dropFirst ? skipper(dropFirst, (c) => filter.push(c)) : (c) => filter.push(c);
  await h.queryQueue.enqueue(h.id, new Uint8Array(Buffer.concat(messages)), onData);
  filter.end();
  if (writeError) throw writeError;
}

const db = await PGlite.create({ ...(values.data ? { dataDir: values.data } : {}), extensions: { vector } });
const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: Number(values.port), maxConnections: Number(values['max-connections']) });
await server.start();
const port = Number(server.getServerConn().split(':').pop());
const ready = { port, pid: process.pid };
process.stdout.write(`${JSON.stringify(ready)}\n`);
process.send?.(ready);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  await db.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
