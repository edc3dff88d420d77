import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

describe('--help', () => {
  it('groups plugin flags by the plugin that owns them and lists a shared flag once with all its owners', async () => {
    const r = await cli('index', '--help');
    expect(r.code).toBe(0);
    const help = r.out;
    for (const flag of ['encoder', 'dim', 'dense-index', 'store', 'k1']) expect(help.match(new RegExp(`^  --${flag} `, 'gm'))).toHaveLength(1);
    const section = (title: string) => help.split('\n\n').find((s) => s.startsWith(title)) ?? '';
    const shared = section('Shared plugin options');
    expect(shared).toMatch(/--encoder STRING +encoder model folder \(default: bundled scifact-static\) \[dense, dense-pg\]; token encoder folder \[colbert \(reranker\), colbert \(retriever\)\]/);
    expect(shared).toMatch(/--dense-index STRING +dense index: 'flat' \(exact\) or 'hnsw' \[dense, dense-pg\]/);
    expect(shared).toMatch(/--llm-model STRING +LLM model name \(default \$QUARRY_LLM_MODEL\) \[lamer \(retriever\), lamer \(rewriter\), lamer-dense, llm2gr\]/);
    expect(section('Plugin dense-pg (retriever)')).toMatch(/--store-collection STRING/);
    expect(section('Plugin bm25 (retriever)')).toMatch(/--k1 NUMBER +BM25 k1/);
    // dense-pg's own flags under dense-pg, not the shared ones.
    const densePg = section('Plugin dense-pg (retriever)');
    expect(densePg).toMatch(/--store STRING/);
    expect(densePg).not.toMatch(/--encoder|--dim|--dense-index/);
    // The command's own options come first, without plugin names.
    expect(section('Usage')).toBe('Usage: quarry index --dataset DIR --pipeline NAME|FILE --out DIR');
    expect(section('Options:')).toMatch(/--dataset DIR/);
    expect(section('Options:')).not.toMatch(/--k1|plugin "/);
  });
});
