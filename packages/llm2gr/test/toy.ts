import { hashString, type NextTokenScorer } from '@quarry/core';

/** Text = space-separated integers (other words hash into the vocabulary). */
export class ToyCodec {
  constructor(readonly vocabSize: number) {}
  encode(text: string): number[] {
    return text
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => (/^\d+$/.test(w) ? Number(w) : hashString(w) % this.vocabSize));
  }
  decode(ids: readonly number[]): string {
    return ids.join(' ');
  }
}

/** A deterministic pseudo-random language model: log-softmax of hashed logits of (prefix, token). */
export class ToyScorer extends ToyCodec implements NextTokenScorer {
  calls = 0;
  constructor(
    vocabSize: number,
    readonly seed = 1,
  ) {
    super(vocabSize);
  }
  async nextTokenLogProbs(prefixes: readonly (readonly number[])[]): Promise<Float32Array[]> {
    this.calls++;
    return prefixes.map((p) => {
      const h = hashString(`${this.seed}|${p.join(',')}`);
      const logits = Array.from({ length: this.vocabSize }, (_, t) => (((h ^ Math.imul(t + 1, 2654435761)) >>> 0) % 1000) / 200);
      const max = Math.max(...logits);
      const z = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
      return Float32Array.from(logits, (v) => v - z);
    });
  }
}
