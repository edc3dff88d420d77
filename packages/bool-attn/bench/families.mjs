// Generalisation to phrasings: every test pair of the Boolean benchmark rendered in every phrasing
// family (train families = seen, held-out families = never trained on), plain encoder vs Boolean
// modules, MRR@10 and nDCG@10 per family, seen vs held-out per operator, paired bootstrap CIs.
// Usage: npx tsup && node bench/families.mjs [--model DIR] [--json out.json] [--ops not,and,or] [--limit N] [--boot 1000]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SeededRandom, evaluate, readCorpus, readQrels } from '@quarry/core';
import { BoolRetriever, PHRASING_FAMILIES, bundledBoolModelDir, loadBoolEncoder, readBoolQueries, renderFamily } from '../dist/index.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    benchmark: { type: 'string', default: here('../benchmark/scifact-bool') },
    json: { type: 'string' },
    ops: { type: 'string', default: 'not,and,or' },
    limit: { type: 'string' },
    boot: { type: 'string', default: '1000' },
  },
});
const cpu0 = process.cpuUsage();
const B = Number(values.boot);
const docs = [];
for await (const d of readCorpus(`${values.benchmark}/corpus.jsonl.gz`)) docs.push(d);
const encoder = await loadBoolEncoder(values.model ?? bundledBoolModelDir());
const bool = await BoolRetriever.fromDocs(docs, encoder);
const plain = new BoolRetriever(encoder.asBaseline(), bool.ids, bool.vectors, { name: 'plain' });
const queries = await readBoolQueries(values.benchmark);
const text = new Map(queries.filter((q) => q.meta.op === 'none').map((q) => [q.meta.sources[0], q.text]));
const qrels = await readQrels(`${values.benchmark}/qrels/test.tsv.gz`);

/** Per-query MRR@10 and nDCG@10 of a retriever on texts whose qrels are those of `ids`. */
async function perQuery(retriever, texts, ids) {
  const hits = await retriever.searchBatch(texts, { k: 10 });
  const r = evaluate(new Map(ids.map((id, i) => [id, hits[i]])), new Map(ids.map((id) => [id, qrels.get(id)])), ['mrr@10', 'ndcg@10']);
  return { mrr: ids.map((id) => r.perQuery['mrr@10'][id]), ndcg: ids.map((id) => r.perQuery['ndcg@10'][id]) };
}
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
/** Paired bootstrap over pairs (seeded): 95% CI of stat(indices). */
function bootstrap(n, stat, seed) {
  const rng = new SeededRandom(seed);
  const out = [];
  for (let b = 0; b < B; b++) {
    const idx = Array.from({ length: n }, () => Math.floor(rng.next() * n));
    out.push(stat(idx));
  }
  out.sort((x, y) => x - y);
  return [out[Math.floor(0.025 * B)], out[Math.ceil(0.975 * B) - 1]];
}
const f4 = (x) => x.toFixed(4);
const sgn = (x) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(4);
const ci = ([lo, hi]) => `[${sgn(lo)}, ${sgn(hi)}]`;

const report = { model: values.model ?? 'bundled', families: [], operators: [] };
const lines = [];
for (const op of values.ops.split(',')) {
  let pairs = queries.filter((q) => q.meta.split === 'test' && q.meta.op === op);
  if (values.limit) pairs = pairs.slice(0, Number(values.limit));
  const ids = pairs.map((q) => q.id);
  const fams = PHRASING_FAMILIES.filter((x) => x.op === op);
  const res = new Map();
  for (const fam of fams) {
    const texts = pairs.map((q) => renderFamily(fam, text.get(q.meta.sources[0]), text.get(q.meta.sources[1])).text);
    res.set(fam.id, { fam, plain: await perQuery(plain, texts, ids), bool: await perQuery(bool, texts, ids) });
  }
  const n = ids.length;
  lines.push(`\n### ${op.toUpperCase()} (${n} test pairs; ${fams.filter((x) => x.split === 'train').length} seen, ${fams.filter((x) => x.split === 'heldout').length} held-out families)\n`);
  lines.push('| family | split | example connective | MRR@10 plain → Boolean | Δ MRR@10 [95% CI] | nDCG@10 plain → Boolean | Δ nDCG@10 [95% CI] |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const [id, r] of res) {
    const dm = r.bool.mrr.map((x, i) => x - r.plain.mrr[i]);
    const dn = r.bool.ndcg.map((x, i) => x - r.plain.ndcg[i]);
    const row = {
      id,
      op,
      split: r.fam.split,
      pattern: r.fam.pattern,
      plain: { mrr: mean(r.plain.mrr), ndcg: mean(r.plain.ndcg) },
      bool: { mrr: mean(r.bool.mrr), ndcg: mean(r.bool.ndcg) },
      dMrrCI: bootstrap(n, (ix) => mean(ix.map((i) => dm[i])), 7),
      dNdcgCI: bootstrap(n, (ix) => mean(ix.map((i) => dn[i])), 8),
    };
    report.families.push(row);
    lines.push(
      `| ${id} | ${row.split === 'train' ? 'seen' : 'held-out'} | \`${r.fam.pattern}\` | ${f4(row.plain.mrr)} → ${f4(row.bool.mrr)} | ${sgn(row.bool.mrr - row.plain.mrr)} ${ci(row.dMrrCI)} | ${f4(row.plain.ndcg)} → ${f4(row.bool.ndcg)} | ${sgn(row.bool.ndcg - row.plain.ndcg)} ${ci(row.dNdcgCI)} |`,
    );
  }
  // Seen vs held-out: per pair, the mean over the families of each split, then paired over pairs.
  const agg = (split, metric, who) => {
    const rs = [...res.values()].filter((r) => r.fam.split === split);
    return ids.map((_, i) => mean(rs.map((r) => r[who][metric][i])));
  };
  const opRow = { op, pairs: n };
  for (const split of ['train', 'heldout']) {
    for (const metric of ['mrr', 'ndcg']) {
      const p = agg(split, metric, 'plain');
      const b = agg(split, metric, 'bool');
      const d = b.map((x, i) => x - p[i]);
      opRow[`${split}/${metric}`] = { plain: mean(p), bool: mean(b), delta: mean(d), ci: bootstrap(n, (ix) => mean(ix.map((i) => d[i])), 11) };
    }
  }
  const dSeen = agg('train', 'mrr', 'bool').map((x, i) => x - agg('train', 'mrr', 'plain')[i]);
  const dHeld = agg('heldout', 'mrr', 'bool').map((x, i) => x - agg('heldout', 'mrr', 'plain')[i]);
  opRow.ratio = mean(dHeld) / mean(dSeen);
  opRow.ratioCI = bootstrap(n, (ix) => mean(ix.map((i) => dHeld[i])) / mean(ix.map((i) => dSeen[i])), 13);
  if (op === 'not') {
    const aAlone = await perQuery(
      plain,
      pairs.map((q) => text.get(q.meta.sources[0])),
      ids,
    );
    const bn = res.get('not/but-not');
    if (bn) {
      const d = bn.bool.mrr.map((x, i) => x - aAlone.mrr[i]);
      opRow.butNotVsAAlone = {
        aAlone: mean(aAlone.mrr),
        aAloneNdcg: mean(aAlone.ndcg),
        butNot: mean(bn.bool.mrr),
        butNotNdcg: mean(bn.bool.ndcg),
        delta: mean(d),
        ci: bootstrap(n, (ix) => mean(ix.map((i) => d[i])), 17),
      };
    }
  }
  report.operators.push(opRow);
}

const summary = ['| operator | families | MRR@10 plain → Boolean | Δ MRR@10 [95% CI] | nDCG@10 plain → Boolean | Δ nDCG@10 [95% CI] |', '|---|---|---|---|---|---|'];
for (const o of report.operators) {
  for (const split of ['train', 'heldout']) {
    const m = o[`${split}/mrr`];
    const g = o[`${split}/ndcg`];
    summary.push(
      `| ${o.op.toUpperCase()} | ${split === 'train' ? 'seen' : 'held-out'} | ${f4(m.plain)} → ${f4(m.bool)} | ${sgn(m.delta)} ${ci(m.ci)} | ${f4(g.plain)} → ${f4(g.bool)} | ${sgn(g.delta)} ${ci(g.ci)} |`,
    );
  }
}
console.log('## Seen vs held-out families (test pairs; mean over the families of each split)\n');
console.log(summary.join('\n'));
console.log('\n| operator | held-out gain / seen gain (MRR@10) [95% CI] |\n|---|---|');
for (const o of report.operators) console.log(`| ${o.op.toUpperCase()} | ${(o.ratio * 100).toFixed(1)}% [${(o.ratioCI[0] * 100).toFixed(1)}%, ${(o.ratioCI[1] * 100).toFixed(1)}%] |`);
const bn = report.operators.find((o) => o.op === 'not')?.butNotVsAAlone;
if (bn)
  console.log(
    `\n"A but not B" (Boolean) vs the plain encoder on A alone: MRR@10 ${f4(bn.butNot)} vs ${f4(bn.aAlone)} (Δ ${sgn(bn.delta)} ${ci(bn.ci)}), nDCG@10 ${f4(bn.butNotNdcg)} vs ${f4(bn.aAloneNdcg)}`,
  );
console.log('\n## Per family');
console.log(lines.join('\n'));
const cpu = process.cpuUsage(cpu0);
console.log(`\nCPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; ${B} bootstrap resamples, seeded`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
