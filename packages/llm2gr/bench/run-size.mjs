// One corpus size in its own process (clean peak RSS): FM-index build, size, count/locate/
// successors latency for 16-token patterns, against a naive suffix array and a plain scan.
import { FmIndex, suffixArray } from '../dist/index.js';
import { rng, scaledCorpus, scifactTokenDocs } from './corpus.mjs';

const scale = Number(process.argv[2]);
const naiveMax = Number(process.argv[3] ?? 2_000_000);
const docs = scaledCorpus(await scifactTokenDocs(), scale);
const tokens = docs.reduce((s, d) => s + d.length, 0);
const maxToken = docs.reduce((m, d) => d.reduce((a, b) => Math.max(a, b), m), 0);

const ns = () => Number(process.hrtime.bigint());
const t = ns();
const cpu0 = process.cpuUsage();
const fm = FmIndex.build(docs);
const buildS = (ns() - t) / 1e9;
const buildCpuS = (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6;

// Patterns: 16 consecutive tokens from random documents (each occurs at least once).
const r = rng(11);
const patterns = [];
while (patterns.length < 2000) {
  const d = docs[Math.floor(r() * docs.length)];
  if (d.length < 16) continue;
  const s = Math.floor(r() * (d.length - 15));
  patterns.push(Array.from(d.subarray(s, s + 16)));
}
// Microseconds per call of on-CPU time (user + system of this process): on a shared, oversubscribed
// machine wall time mostly measures waiting for a core. Wall time is kept in `wall` for the record.
const wall = {};
function timeit(fn, reps, name) {
  for (let i = 0; i < Math.min(reps, 200); i++) fn(i); // warm-up
  const c0 = process.cpuUsage();
  const t0 = ns();
  for (let i = 0; i < reps; i++) fn(i);
  const c = process.cpuUsage(c0);
  if (name) wall[name] = (ns() - t0) / reps / 1000;
  return (c.user + c.system) / reps;
}
let sink = 0;
const countUs = timeit((i) => (sink += fm.count(patterns[i % patterns.length])), 20000, 'countUs');
let occ = 0;
for (const p of patterns) occ += fm.count(p);
const locateUs = timeit((i) => (sink += fm.locatePattern(patterns[i % patterns.length]).length), 5000, 'locateUs');
const prefixes = patterns.map((p) => p.slice(0, 8));
const ranges = prefixes.map((p) => fm.find(p));
const nextTok = patterns.map((p) => p[8]);
const extendUs = timeit((i) => (sink += fm.extend(ranges[i % ranges.length], nextTok[i % nextTok.length]).ep), 20000, 'extendUs');
const succUs = timeit((i) => (sink += fm.successors(fm.find(prefixes[i % prefixes.length])).length), 5000, 'succUs');
const extractUs = timeit((i) => (sink += fm.extract(i % docs.length, 0, 150).length), 2000, 'extractUs');

// Plain scan: every document, every start position.
function scanCount(p) {
  let c = 0;
  for (const d of docs) {
    outer: for (let i = 0; i + p.length <= d.length; i++) {
      for (let j = 0; j < p.length; j++) if (d[i + j] !== p[j]) continue outer;
      c++;
    }
  }
  return c;
}
const scanUs = timeit((i) => (sink += scanCount(patterns[i % patterns.length])), 20, 'scanUs');

// Naive suffix array: comparison sort of suffix start positions (what the FM-index replaces).
let naive = null;
if (tokens <= naiveMax) {
  const text = new Int32Array(tokens + docs.length);
  let p = 0;
  for (const d of docs) {
    text.set(d, p);
    p += d.length;
    text[p++] = -1;
  }
  const cpuNow = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  let cs = cpuNow();
  const idx = Array.from({ length: text.length }, (_, i) => i);
  const n = text.length;
  idx.sort((a, b) => {
    while (a < n && b < n) {
      if (text[a] !== text[b]) return text[a] - text[b];
      a++;
      b++;
    }
    return a < n ? 1 : -1;
  });
  const sa = Int32Array.from(idx);
  const naiveBuildS = cpuNow() - cs;
  const cmp = (pos, pat) => {
    for (let j = 0; j < pat.length; j++) {
      const c = pos + j < n ? text[pos + j] : -2;
      if (c !== pat[j]) return c - pat[j];
    }
    return 0;
  };
  const range = (pat) => {
    let lo = 0,
      hi = n;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (cmp(sa[m], pat) < 0) lo = m + 1;
      else hi = m;
    }
    let e = lo,
      top = n;
    while (e < top) {
      const m = (e + top) >>> 1;
      if (cmp(sa[m], pat) <= 0) e = m + 1;
      else top = m;
    }
    return [lo, e];
  };
  const naiveCountUs = timeit(
    (i) => {
      const [a, b] = range(patterns[i % patterns.length]);
      sink += b - a;
    },
    20000,
    'naiveCountUs',
  );
  const naiveLocateUs = timeit(
    (i) => {
      const [a, b] = range(patterns[i % patterns.length]);
      for (let k = a; k < b; k++) sink += sa[k];
    },
    5000,
    'naiveLocateUs',
  );
  // Same SA via SA-IS, for the record (the FM-index build includes it).
  const sym = Int32Array.from(text, (v) => (v < 0 ? 1 : v + 2));
  sym[sym.length - 1] = 1;
  const withSentinel = new Int32Array(sym.length + 1);
  withSentinel.set(sym);
  cs = cpuNow();
  suffixArray(withSentinel, maxToken + 3);
  const saisS = cpuNow() - cs;
  naive = { naiveBuildS, naiveCountUs, naiveLocateUs, saisS, naiveBytes: sa.byteLength + text.byteLength };
}

const rss = process.resourceUsage().maxRSS * 1024;
console.log(
  JSON.stringify({
    scale,
    docs: docs.length,
    tokens,
    buildS,
    fmBytes: fm.byteLength,
    rawU16: tokens * 2,
    rawI32: tokens * 4,
    countUs,
    extendUs,
    locateUs,
    occPerPattern: occ / patterns.length,
    succUs,
    extractUs,
    scanUs,
    ...(naive ?? {}),
    rss,
    buildCpuS,
    wall,
    load: (await import('node:os')).loadavg()[0],
    sink: sink % 7,
  }),
);
