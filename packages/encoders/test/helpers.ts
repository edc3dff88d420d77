import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(PKG, 'test', 'fixtures');
export const BERT_TOKENIZER = join(PKG, 'tokenizers', 'bert-base-uncased');
export const SCIFACT = join(PKG, '..', '..', 'datasets', 'scifact');
export const DEFAULT_MODEL = join(PKG, 'models', 'scifact-static');

export function tempDir(prefix = 'quarry-enc-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
