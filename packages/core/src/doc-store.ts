import { DuplicateIdError } from './errors.js';
import type { Doc, DocStore } from './types.js';

/** An in-memory `DocStore` that keeps insertion order. */
export class MemoryDocStore implements DocStore {
  readonly #docs = new Map<string, Doc>();

  constructor(docs: Iterable<Doc> = []) {
    for (const doc of docs) this.add(doc);
  }

  static async fromAsync(docs: AsyncIterable<Doc>): Promise<MemoryDocStore> {
    const store = new MemoryDocStore();
    for await (const doc of docs) store.add(doc);
    return store;
  }

  get size(): number {
    return this.#docs.size;
  }

  add(doc: Doc): void {
    if (this.#docs.has(doc.id)) throw new DuplicateIdError(doc.id, 'document store');
    this.#docs.set(doc.id, doc);
  }

  delete(id: string): boolean {
    return this.#docs.delete(id);
  }

  get(id: string): Doc | undefined {
    return this.#docs.get(id);
  }

  has(id: string): boolean {
    return this.#docs.has(id);
  }

  ids(): IterableIterator<string> {
    return this.#docs.keys();
  }

  [Symbol.iterator](): IterableIterator<Doc> {
    return this.#docs.values();
  }
}

/** The text most retrievers index: title and body joined, as BEIR/Pyserini "flat" indexes do. */
export function docText(doc: Doc): string {
  return doc.title ? `${doc.title} ${doc.text}` : doc.text;
}

/**
 * True when a document has nothing to match: no letter or digit in its title or text (empty,
 * whitespace, punctuation only; Cranfield's doc 471). Retrievers index such a document but
 * never return it, whatever vector or tokens their encoder would give it.
 */
export function isBlankDoc(doc: Doc): boolean {
  return !/[\p{L}\p{N}]/u.test(docText(doc));
}
