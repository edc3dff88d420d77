import { TextTokenizer, bundledTokenizerDir } from '@quarry/encoders';
import type { TokenCodec } from './corpus-scorer.js';

/** A `TokenCodec` over a Hugging Face tokenizer.json (no special tokens added). */
export class TokenizerCodec implements TokenCodec {
  readonly vocabSize: number;
  constructor(readonly tokenizer: TextTokenizer) {
    this.vocabSize = tokenizer.vocabSize;
  }

  /** The tokenizer.json (+ tokenizer_config.json) of a folder; default: the BERT-uncased tokenizer bundled with @quarry/encoders. */
  static fromDir(dir: string = bundledTokenizerDir()): TokenizerCodec {
    return new TokenizerCodec(TextTokenizer.fromDir(dir));
  }

  encode(text: string): number[] {
    return Array.from(this.tokenizer.encode(text, { addSpecialTokens: false }));
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids);
  }
}
