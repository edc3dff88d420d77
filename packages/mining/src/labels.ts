import type { Qrels } from '@quarry/core';

/**
 * What the labels say about a mined negative, across every split given:
 * - labelled: the negative is judged relevant for this very query (a certain false negative);
 * - sibling: it is a positive of another query that shares a positive with this one
 *   (SciFact's near-duplicate claims cite the same abstracts: a likely false negative).
 */
export class FalseNegativeOracle {
  readonly #positives = new Map<string, Set<string>>();
  readonly #queriesByDoc = new Map<string, Set<string>>();

  constructor(labels: readonly Qrels[]) {
    for (const qrels of labels) {
      for (const [qid, judged] of qrels) {
        for (const [doc, grade] of judged) {
          if (grade < 1) continue;
          let p = this.#positives.get(qid);
          if (!p) this.#positives.set(qid, (p = new Set()));
          p.add(doc);
          let q = this.#queriesByDoc.get(doc);
          if (!q) this.#queriesByDoc.set(doc, (q = new Set()));
          q.add(qid);
        }
      }
    }
  }

  isLabelled(queryId: string, docId: string): boolean {
    return this.#positives.get(queryId)?.has(docId) ?? false;
  }

  /** True when `docId` is a positive of a query sharing at least one positive with `queryId`. */
  isSiblingPositive(queryId: string, docId: string): boolean {
    const mine = this.#positives.get(queryId);
    const docQueries = this.#queriesByDoc.get(docId);
    if (!mine || !docQueries) return false;
    for (const other of docQueries) {
      if (other === queryId) continue;
      const theirs = this.#positives.get(other)!;
      for (const d of mine) if (theirs.has(d)) return true;
    }
    return false;
  }
}
