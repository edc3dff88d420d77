import type { DocStore } from '@quarry/core';
import { docText } from '@quarry/core';
import type { MinedExample } from './miner.js';

/** Output layouts of sentence-transformers' `mine_hard_negatives`, each with ids and texts. */
export const OUTPUT_FORMATS = ['triplet', 'n-tuple', 'n-tuple-scores', 'labeled-pair', 'labeled-list'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Formats whose rows have one column per negative, so every row needs exactly `negatives` of them. */
export const TUPLE_FORMATS: readonly OutputFormat[] = ['n-tuple', 'n-tuple-scores'];

/**
 * Fits an example to an n-tuple of `n` negatives. Like sentence-transformers, a query with
 * fewer negatives is dropped (`undefined`); with `pad` it is padded by repeating its own
 * negatives in order (a query with none is still dropped). Extra negatives never occur.
 */
export function fitTuple(example: MinedExample, n: number, pad: boolean): { example: MinedExample; padded: boolean } | undefined {
  const have = example.negatives;
  if (have.length >= n) return { example, padded: false };
  if (!pad || have.length === 0) return undefined;
  return { example: { ...example, negatives: Array.from({ length: n }, (_, i) => have[i % have.length]!) }, padded: true };
}

/**
 * Rows for one mined example, one per (query, positive) pair as sentence-transformers
 * writes them (every positive of a query shares the query's negatives):
 * - triplet: `{query, positive, negative}` per negative;
 * - n-tuple: `{query, positive, negative_1..n}`; n-tuple-scores adds `scores` = [positive, negatives...];
 * - labeled-pair: `{query, passage, label}` (1 for the positive, 0 per negative);
 * - labeled-list: `{query, passages, labels}`.
 * Every row also carries `query_id` and the doc ids, so texts can be re-joined or audited.
 */
export function formatExample(example: MinedExample, format: OutputFormat, docs: DocStore): Record<string, unknown>[] {
  const text = (id: string): string => {
    const doc = docs.get(id);
    return doc ? docText(doc) : '';
  };
  const q = { query_id: example.query.id, query: example.query.text };
  const rows: Record<string, unknown>[] = [];
  for (const pos of example.positives) {
    const negs = example.negatives;
    switch (format) {
      case 'triplet':
        for (const n of negs) rows.push({ ...q, positive_id: pos.id, negative_id: n.id, positive: text(pos.id), negative: text(n.id) });
        break;
      case 'n-tuple':
      case 'n-tuple-scores': {
        const row: Record<string, unknown> = { ...q, positive_id: pos.id, negative_ids: negs.map((n) => n.id), positive: text(pos.id) };
        negs.forEach((n, i) => (row[`negative_${i + 1}`] = text(n.id)));
        if (format === 'n-tuple-scores') row['scores'] = [pos.score, ...negs.map((n) => n.score)];
        rows.push(row);
        break;
      }
      case 'labeled-pair':
        rows.push({ ...q, passage_id: pos.id, passage: text(pos.id), label: 1 });
        for (const n of negs) rows.push({ ...q, passage_id: n.id, passage: text(n.id), label: 0 });
        break;
      case 'labeled-list':
        rows.push({ ...q, passage_ids: [pos.id, ...negs.map((n) => n.id)], passages: [text(pos.id), ...negs.map((n) => text(n.id))], labels: [1, ...negs.map(() => 0)] });
        break;
    }
  }
  return rows;
}
