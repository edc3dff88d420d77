import { QuarryError } from '@quarry/core';

/** hnswlib-node passes labels through `Uint32Value`, so labels must stay below 2^32. */
const MAX_LABEL = 0xffff_ffff;

/**
 * String id <-> integer label for a native index. Labels are handed out from a
 * counter and never reused: hnswlib's `replaceDeleted` recycles the memory slot of
 * *some* tombstoned element (which one is not exposed) and erases that element's
 * label, so reusing a deleted label could later erase a live entry. A fresh label
 * per insert can never collide with a label still held by a tombstone.
 */
export class IdMap {
  readonly #labels = new Map<string, number>();
  readonly #ids = new Map<number, string>();
  #next: number;

  constructor(nextLabel = 0) {
    this.#next = nextLabel;
  }

  get size(): number {
    return this.#labels.size;
  }

  /** The label the next `assign` will hand out (persisted so a loaded index continues the sequence). */
  get nextLabel(): number {
    return this.#next;
  }

  has(id: string): boolean {
    return this.#labels.has(id);
  }

  labelOf(id: string): number | undefined {
    return this.#labels.get(id);
  }

  idOf(label: number): string | undefined {
    return this.#ids.get(label);
  }

  /** Reserves the next label for `id` without recording it (record after the native add succeeds). */
  peek(): number {
    if (this.#next > MAX_LABEL) throw new QuarryError('INPUT_INVALID', 'This index has used all 2^32 labels hnswlib can address; rebuild it (save ids and vectors, add them to a new index).');
    return this.#next;
  }

  /** Records `id` under the label `peek` returned, and advances the counter. */
  commit(id: string, label: number): void {
    this.#labels.set(id, label);
    this.#ids.set(label, id);
    this.#next = Math.max(this.#next, label + 1);
  }

  /** Forgets `id`; returns its label, or undefined if unknown. */
  remove(id: string): number | undefined {
    const label = this.#labels.get(id);
    if (label === undefined) return undefined;
    this.#labels.delete(id);
    this.#ids.delete(label);
    return label;
  }

  ids(): IterableIterator<string> {
    return this.#labels.keys();
  }

  /** Parallel arrays for saving: ids and their labels. */
  entries(): { ids: string[]; labels: Uint32Array } {
    const ids: string[] = [];
    const labels = new Uint32Array(this.#labels.size);
    for (const [id, label] of this.#labels) labels[ids.push(id) - 1] = label;
    return { ids, labels };
  }
}
