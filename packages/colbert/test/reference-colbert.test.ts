import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxColbertEncoder, readColbertConfig } from '../src/index.js';

// Random-weight ColBERT models in the PyLate and Stanford ColBERT folder layouts, with the token
// vectors and MaxSim scores of sentence-transformers' MultiVectorEncoder, which loads both layouts
// (tools/reference/build_fixtures.py; fixtures live with the encoders package).
const MODELS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'encoders', 'test', 'fixtures', 'reference', 'models');
const TOL = 1e-5;

interface Reference {
  texts: string[];
  queries: string[];
  query_ids: number[][];
  document_ids: number[][];
  query_vectors: number[][][];
  document_vectors: number[][][];
  maxsim: number[][];
}

const measured: Record<string, number> = {};
afterAll(() => console.log('max abs error vs MultiVectorEncoder:', JSON.stringify(measured)));

describe.each(['colbert-pylate', 'colbert-stanford'])('%s folder, loaded as it is', (name) => {
  const dir = join(MODELS, name);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;

  it('reads markers, lengths, expansion and skiplist from the folder', () => {
    const cfg = readColbertConfig(dir);
    expect(cfg).toMatchObject({ queryLength: 16, documentLength: 24, attendToExpansionTokens: false, queryExpansion: true });
    expect(cfg.queryMarker).toBe(name === 'colbert-pylate' ? '[Q] ' : '[unused0]');
  });

  it('model inputs equal the reference ids (marker after [CLS], [MASK] expansion, truncation)', async () => {
    const enc = await OnnxColbertEncoder.load(dir, { threads: 1 });
    ref.queries.forEach((q, i) => expect(Array.from(enc.prepare(q, 'query').ids)).toEqual(ref.query_ids[i]));
    ref.texts.forEach((t, i) => expect(Array.from(enc.prepare(t, 'document').ids)).toEqual(ref.document_ids[i]));
    // Expansion tokens are scored but not attended (attend_to_expansion_tokens / attend_to_mask_tokens false).
    const q = enc.prepare(ref.queries[0]!, 'query');
    expect(q.attended).toBeLessThan(q.ids.length);
    expect(q.keep.length).toBe(16);
    // '\\' is not in this vocabulary: the skiplist must not turn that into "drop every [UNK]" (as MultiVectorEncoder).
    expect(enc.tokenStrings('x \\ y', 'document')).toContain('[UNK]');
    expect(enc.tokenStrings('x , y', 'document')).not.toContain(',');
    await enc.release();
  });

  it('token vectors (skiplist applied) and MaxSim scores match within 1e-5', async () => {
    const enc = await OnnxColbertEncoder.load(dir, { threads: 1, batchSize: 4 });
    const q = await enc.encodeTokens(ref.queries, { role: 'query' });
    const d = await enc.encodeTokens(ref.texts, { role: 'document' });
    let err = 0;
    const check = (m: typeof q, want: number[][][]): void => {
      want.forEach((rows, i) => {
        expect(m.offsets[i + 1]! - m.offsets[i]!).toBe(rows.length);
        rows.forEach((row, r) => row.forEach((v, j) => (err = Math.max(err, Math.abs(m.data[(m.offsets[i]! + r) * m.dim + j]! - v)))));
      });
    };
    check(q, ref.query_vectors);
    check(d, ref.document_vectors);
    let scoreErr = 0;
    ref.maxsim.forEach((row, i) =>
      row.forEach((want, k) => {
        let total = 0;
        for (let a = q.offsets[i]!; a < q.offsets[i + 1]!; a++) {
          let best = -Infinity;
          for (let b = d.offsets[k]!; b < d.offsets[k + 1]!; b++) {
            let s = 0;
            for (let j = 0; j < q.dim; j++) s += q.data[a * q.dim + j]! * d.data[b * d.dim + j]!;
            best = Math.max(best, s);
          }
          total += best;
        }
        scoreErr = Math.max(scoreErr, Math.abs(total - want));
      }),
    );
    measured[`${name}/vectors`] = err;
    measured[`${name}/maxsim`] = scoreErr;
    expect(err).toBeLessThan(TOL);
    expect(scoreErr).toBeLessThan(TOL);
    await enc.release();
  });
});
