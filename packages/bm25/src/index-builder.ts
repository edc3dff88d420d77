import { csrFromTriples, type Csr } from './csr.js';
import { ensureCapacity } from './typed.js';

/**
 * Collects the postings of documents as they are added: each document's terms
 * are counted into (term, doc, tf) triples appended to flat typed arrays, and
 * `toCsr` groups them by term. Counting uses a per-term stamp array instead of a
 * per-document Map, so adding a document allocates nothing per token.
 */
export class PostingsBuffer {
  #terms = new Int32Array(1024);
  #docs = new Int32Array(1024);
  #tfs = new Int32Array(1024);
  #length = 0;
  // Per-document scratch, indexed by term id.
  #stamp = new Int32Array(1024);
  #slot = new Int32Array(1024);
  #docStamp = 0;
  #unique = new Int32Array(256);
  #uniqueTf = new Int32Array(256);

  /** Number of buffered postings. */
  get length(): number {
    return this.#length;
  }

  /** Appends the postings of document `doc` (term ids in text order, repeats allowed); returns its distinct term count. */
  addDocument(doc: number, termIds: Int32Array, count: number, numTerms: number): number {
    if (this.#stamp.length < numTerms) {
      this.#stamp = ensureCapacity(this.#stamp, numTerms);
      this.#slot = ensureCapacity(this.#slot, numTerms);
    }
    const stamp = this.#stamp;
    const slot = this.#slot;
    if (this.#docStamp === 0x7fffffff) {
      stamp.fill(0);
      this.#docStamp = 0;
    }
    const mark = ++this.#docStamp;
    this.#unique = ensureCapacity(this.#unique, count);
    this.#uniqueTf = ensureCapacity(this.#uniqueTf, count);
    const unique = this.#unique;
    const uniqueTf = this.#uniqueTf;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const t = termIds[i]!;
      if (stamp[t] === mark) uniqueTf[slot[t]!]!++;
      else {
        stamp[t] = mark;
        slot[t] = n;
        unique[n] = t;
        uniqueTf[n++] = 1;
      }
    }
    const start = this.#length;
    const end = start + n;
    this.#terms = ensureCapacity(this.#terms, end);
    this.#docs = ensureCapacity(this.#docs, end);
    this.#tfs = ensureCapacity(this.#tfs, end);
    this.#terms.set(unique.subarray(0, n), start);
    this.#docs.fill(doc, start, end);
    this.#tfs.set(uniqueTf.subarray(0, n), start);
    this.#length = end;
    return n;
  }

  toCsr(numTerms: number): Csr {
    return csrFromTriples(numTerms, this.#terms, this.#docs, this.#tfs, this.#length);
  }

  clear(): void {
    this.#length = 0;
    if (this.#terms.length > 1 << 20) {
      this.#terms = new Int32Array(1024);
      this.#docs = new Int32Array(1024);
      this.#tfs = new Int32Array(1024);
    }
  }
}
