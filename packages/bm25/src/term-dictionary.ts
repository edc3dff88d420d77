/** Term string <-> dense term id (its row in the postings' CSR offsets). */
export class TermDictionary {
  readonly #ids = new Map<string, number>();
  readonly #terms: string[] = [];

  get size(): number {
    return this.#terms.length;
  }

  idOf(term: string): number | undefined {
    return this.#ids.get(term);
  }

  /** The id of `term`, assigning the next id to a new term. */
  intern(term: string): number {
    let id = this.#ids.get(term);
    if (id === undefined) {
      id = this.#terms.length;
      this.#ids.set(term, id);
      this.#terms.push(term);
    }
    return id;
  }

  term(id: number): string {
    return this.#terms[id]!;
  }

  terms(): readonly string[] {
    return this.#terms;
  }

  static from(terms: readonly string[]): TermDictionary {
    const dict = new TermDictionary();
    for (const term of terms) dict.intern(term);
    return dict;
  }
}
