import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBeirDataset, readCorpus, type Doc } from '@quarry/core';
import { TextTokenizer, bundledTokenizerDir } from '@quarry/encoders';

export const SCIFACT_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'datasets', 'scifact');

let docsCache: Doc[] | undefined;
export async function scifactDocs(): Promise<Doc[]> {
  if (!docsCache) {
    docsCache = [];
    for await (const d of readCorpus(openBeirDataset(SCIFACT_DIR).corpusFile)) docsCache.push(d);
  }
  return docsCache;
}

/** BERT-uncased token ids of the first `limit` SciFact abstracts. */
export async function scifactTokens(limit: number): Promise<Int32Array[]> {
  const tok = TextTokenizer.fromDir(bundledTokenizerDir());
  return (await scifactDocs()).slice(0, limit).map((d) => tok.encode(d.text, { addSpecialTokens: false }));
}
