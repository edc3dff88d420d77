/**
 * Postings in CSR layout: term t owns entries `offsets[t] .. offsets[t+1]-1` of
 * `docs` (doc ordinals, ascending) and `tfs` (term frequencies). Three flat typed
 * arrays, whatever the collection size: no per-posting or per-term objects.
 */
export interface Csr {
  /** Length = number of terms + 1. A term id beyond it has no postings here. */
  offsets: Int32Array;
  docs: Int32Array;
  tfs: Int32Array;
}

export function emptyCsr(): Csr {
  return { offsets: new Int32Array(1), docs: new Int32Array(0), tfs: new Int32Array(0) };
}

export function numTermsOf(csr: Csr): number {
  return csr.offsets.length - 1;
}

/**
 * Groups (term, doc, tf) triples by term with a stable counting sort. Triples
 * arrive in ascending doc order, so each term's docs come out ascending.
 */
export function csrFromTriples(numTerms: number, terms: Int32Array, docs: Int32Array, tfs: Int32Array, length: number): Csr {
  const offsets = new Int32Array(numTerms + 1);
  for (let i = 0; i < length; i++) offsets[terms[i]! + 1]!++;
  for (let t = 0; t < numTerms; t++) offsets[t + 1]! += offsets[t]!;
  const cursor = offsets.slice(0, numTerms);
  const outDocs = new Int32Array(length);
  const outTfs = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const p = cursor[terms[i]!]!++;
    outDocs[p] = docs[i]!;
    outTfs[p] = tfs[i]!;
  }
  return { offsets, docs: outDocs, tfs: outTfs };
}

export interface MergeResult {
  csr: Csr;
  /** Old term id -> new term id (-1: the term lost all its postings); null when ids are unchanged. */
  termMap: Int32Array | null;
}

/**
 * Merges two segments whose doc ordinals are disjoint and all of `first`'s come
 * before `second`'s, renumbering docs through `docMap` (old -> new, -1 = drop).
 * With `dropEmptyTerms`, terms left without postings are removed and the
 * remaining ids compacted (returned as `termMap`).
 */
export function mergeCsr(first: Csr, second: Csr, numTerms: number, docMap: Int32Array | null, dropEmptyTerms: boolean): MergeResult {
  const n1 = numTermsOf(first);
  const n2 = numTermsOf(second);
  const counts = new Int32Array(numTerms);
  const count = (csr: Csr, n: number) => {
    for (let t = 0; t < Math.min(n, numTerms); t++) {
      const lo = csr.offsets[t]!;
      const hi = csr.offsets[t + 1]!;
      if (!docMap) counts[t]! += hi - lo;
      else for (let j = lo; j < hi; j++) if (docMap[csr.docs[j]!]! >= 0) counts[t]!++;
    }
  };
  count(first, n1);
  count(second, n2);

  let termMap: Int32Array | null = null;
  let outTerms = numTerms;
  if (dropEmptyTerms) {
    termMap = new Int32Array(numTerms);
    outTerms = 0;
    for (let t = 0; t < numTerms; t++) termMap[t] = counts[t]! > 0 ? outTerms++ : -1;
  }
  const offsets = new Int32Array(outTerms + 1);
  for (let t = 0; t < numTerms; t++) {
    const nt = termMap ? termMap[t]! : t;
    if (nt >= 0) offsets[nt + 1] = counts[t]!;
  }
  for (let t = 0; t < outTerms; t++) offsets[t + 1]! += offsets[t]!;
  const total = offsets[outTerms]!;
  const docs = new Int32Array(total);
  const tfs = new Int32Array(total);
  for (let t = 0; t < numTerms; t++) {
    const nt = termMap ? termMap[t]! : t;
    if (nt < 0) continue;
    let p = offsets[nt]!;
    for (const [csr, n] of [
      [first, n1],
      [second, n2],
    ] as const) {
      if (t >= n) continue;
      for (let j = csr.offsets[t]!, hi = csr.offsets[t + 1]!; j < hi; j++) {
        const d = docMap ? docMap[csr.docs[j]!]! : csr.docs[j]!;
        if (d < 0) continue;
        docs[p] = d;
        tfs[p++] = csr.tfs[j]!;
      }
    }
  }
  return { csr: { offsets, docs, tfs }, termMap };
}
