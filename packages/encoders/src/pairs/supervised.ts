import type { Doc, Qrels, Query } from '@quarry/core';
import type { GeneratedPairs } from './corpus.js';
import { ContaminationError, type ContaminationGuard } from './guard.js';
import { fullText, type NegativeMiner, type PairRecord } from './records.js';

export interface SupervisedPairOptions {
  /** Training queries (e.g. SciFact's train split). */
  queries: readonly Query[];
  /** Their qrels: one pair per (query, document graded > 0 and present in `docs`). */
  qrels: Qrels;
  docs: readonly Doc[] | ReadonlyMap<string, Doc>;
  /** Hard negatives (e.g. NV-Retriever TopK-PercPos 95% with a BM25 teacher, through @quarry/mining). */
  miner?: NegativeMiner;
  /**
   * Required: a held-out query id among `queries` or `qrels` is an error, not a skipped line,
   * since it means the caller passed the wrong split; a query with a held-out query's text under
   * another id is dropped and counted.
   */
  guard: ContaminationGuard;
}

/** Labelled (query, positive) pairs with mined hard negatives; refuses any held-out query. */
export async function supervisedPairs(o: SupervisedPairOptions): Promise<GeneratedPairs> {
  const byId = o.docs instanceof Map ? (o.docs as ReadonlyMap<string, Doc>) : new Map((o.docs as readonly Doc[]).map((d) => [d.id, d]));
  const bad: string[] = [];
  for (const qid of o.qrels.keys()) {
    const v = o.guard.queryIdViolation(qid);
    if (v) bad.push(`qrels: ${v}`);
  }
  for (const q of o.queries) {
    const v = o.guard.queryIdViolation(q.id);
    if (v) bad.push(`queries: ${v}`);
  }
  if (bad.length) throw new ContaminationError('supervisedPairs input', bad);
  // A training query may repeat a held-out query's text under another id (SciFact train 871 and
  // 1291 are test 870 and 1292 word for word): dropped and counted, never trained on.
  const dropped: Record<string, number> = {};
  const clean = o.queries.filter((q) => {
    if (!o.guard.queryTextViolation(q.text)) return true;
    dropped['train query with a held-out query text'] = (dropped['train query with a held-out query text'] ?? 0) + 1;
    return false;
  });
  const used = clean.filter((q) => [...(o.qrels.get(q.id) ?? [])].some(([id, g]) => g > 0 && byId.has(id)));
  const mined = o.miner ? await o.miner.mine(used, o.qrels) : new Map<string, string[]>();
  const records: PairRecord[] = [];
  let missing = 0;
  for (const q of used) {
    const judged = o.qrels.get(q.id)!;
    const negatives = (mined.get(q.id) ?? []).filter((id) => !((judged.get(id) ?? 0) > 0) && byId.has(id)).map((id) => fullText(byId.get(id)!));
    for (const [id, grade] of judged) {
      if (grade <= 0) continue;
      const doc = byId.get(id);
      if (!doc) {
        missing++;
        continue;
      }
      records.push({ query: q.text, positive: fullText(doc), negatives, queryId: q.id, positiveId: id });
    }
  }
  o.guard.assertClean(records, 'supervisedPairs');
  if (missing) dropped['positive missing from corpus'] = missing;
  return { records, dropped };
}
