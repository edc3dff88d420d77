// Tokenizes SciFact (title + text per document, BERT-uncased, as the llm2gr index does) once
// and caches the token ids under .cache/, so every benchmark size reads the same tokens.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBeirDataset, readCorpus } from '@quarry/core';
import { TokenizerCodec } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..', '..');
const cacheFile = join(here, '..', '.cache', 'scifact-tokens.bin');

/** Documents as Int32Array token sequences (" " + text, no special tokens). */
export async function scifactTokenDocs() {
  if (!existsSync(cacheFile)) {
    const codec = TokenizerCodec.fromDir();
    const docs = [];
    for await (const d of readCorpus(openBeirDataset(join(root, 'datasets', 'scifact')).corpusFile)) docs.push(Int32Array.from(codec.encode(` ${d.text}`)));
    const lengths = Int32Array.from(docs, (d) => d.length);
    const flat = new Int32Array(lengths.reduce((a, b) => a + b, 0));
    let p = 0;
    for (const d of docs) {
      flat.set(d, p);
      p += d.length;
    }
    mkdirSync(dirname(cacheFile), { recursive: true });
    const header = Int32Array.from([docs.length]);
    writeFileSync(cacheFile, Buffer.concat([Buffer.from(header.buffer), Buffer.from(lengths.buffer), Buffer.from(flat.buffer)]));
  }
  const buf = readFileSync(cacheFile);
  const all = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const n = all[0];
  const lengths = all.subarray(1, 1 + n);
  const docs = [];
  let p = 1 + n;
  for (let i = 0; i < n; i++) {
    docs.push(all.subarray(p, p + lengths[i]));
    p += lengths[i];
  }
  return docs;
}

/** mulberry32 */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A corpus of `scale` x SciFact: scale < 1 takes a prefix of the documents; scale > 1 adds
 * copies in shuffled order, each document cyclically rotated by a random offset (new
 * junctions, same token statistics), seeded.
 */
export function scaledCorpus(docs, scale, seed = 7) {
  if (scale <= 1) return docs.slice(0, Math.round(docs.length * scale));
  const out = [...docs];
  const r = rng(seed);
  for (let c = 1; c < scale; c++) {
    const order = docs.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) {
      const d = docs[i];
      const k = d.length ? Math.floor(r() * d.length) : 0;
      const rot = new Int32Array(d.length);
      rot.set(d.subarray(k), 0);
      rot.set(d.subarray(0, k), d.length - k);
      out.push(rot);
    }
  }
  return out;
}
