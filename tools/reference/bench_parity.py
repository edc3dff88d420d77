#!/usr/bin/env python3
"""Python side of the encoder speed comparison (issue #20 item 5; optional, never run by tests).

Builds a bge-small-shaped random-weight model (BERT, hidden 384, 12 layers, bert-base-uncased
vocabulary, CLS pooling + Normalize) as a sentence-transformers folder with ONNX fp32 and dynamic
int8 exports, then times on SciFact documents (length-sorted batches of 32, 512 and 256 tokens):
  - onnxruntime-python + the Rust `tokenizers` library (fp32 and int8),
  - sentence-transformers (PyTorch, fp32).
Writes <out>/python.json; then `node packages/encoders/bench/parity.mjs --model <out>/model` times
Quarry's OnnxEncoder on the same files and writes the BENCHMARKS.md section.

    /tmp/refvenv/bin/python tools/reference/bench_parity.py --out /tmp/quarry-parity --docs 256 --threads 2
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def scifact(n: int) -> list[str]:
    out = []
    with gzip.open(ROOT / 'datasets' / 'scifact' / 'corpus.jsonl.gz', 'rt') as f:
        for line in f:
            d = json.loads(line)
            out.append(((d.get('title') or '') + ' ' + d['text']).strip())
            if len(out) >= n:
                break
    return out


def build(folder: Path, threads: int):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import AutoModel, BertConfig, PreTrainedTokenizerFast

    sys_path = Path(__file__).resolve().parent
    import sys

    sys.path.insert(0, str(sys_path))
    from build_fixtures import HiddenState, export_onnx, quantize

    torch.manual_seed(5)
    work = Path('/tmp/quarry-parity-build')
    shutil.rmtree(work, ignore_errors=True)
    tok = PreTrainedTokenizerFast(tokenizer_file=str(ROOT / 'packages/encoders/tokenizers/bert-base-uncased/tokenizer.json'), model_max_length=512,
                                  unk_token='[UNK]', sep_token='[SEP]', pad_token='[PAD]', cls_token='[CLS]', mask_token='[MASK]')
    tok.save_pretrained(str(work))
    cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=12, num_attention_heads=12, intermediate_size=1536, max_position_embeddings=512)
    model = AutoModel.from_config(cfg, attn_implementation='eager')
    model.save_pretrained(str(work))
    tr = Transformer(str(work))
    st = SentenceTransformer(modules=[tr, Pooling(384, pooling_mode='cls'), Normalize()], device='cpu')
    shutil.rmtree(folder, ignore_errors=True)
    st.save(str(folder))
    export_onnx(HiddenState(model, True), folder / 'onnx' / 'model.onnx', ['last_hidden_state'], True)
    quantize(folder / 'onnx' / 'model.onnx', folder / 'onnx' / 'model_quantized.onnx')
    return SentenceTransformer(str(folder), device='cpu')


def ort_encode(session, tokenizer, texts: list[str], max_len: int, batch: int) -> tuple[float, float, np.ndarray]:
    start, cpu = time.perf_counter(), time.process_time()
    tokenizer.enable_truncation(max_length=max_len)
    # A saved tokenizer.json may carry a padding setting: pad per batch here, never to the longest text of the call.
    tokenizer.no_padding()
    enc = tokenizer.encode_batch(texts)
    order = sorted(range(len(texts)), key=lambda i: len(enc[i].ids))
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for s in range(0, len(order), batch):
        items = order[s:s + batch]
        L = max(len(enc[i].ids) for i in items)
        ids = np.zeros((len(items), L), dtype=np.int64)
        mask = np.zeros((len(items), L), dtype=np.int64)
        for b, i in enumerate(items):
            n = len(enc[i].ids)
            ids[b, :n] = enc[i].ids
            mask[b, :n] = 1
        h = session.run(['last_hidden_state'], {'input_ids': ids, 'attention_mask': mask, 'token_type_ids': np.zeros_like(ids)})[0]
        v = h[:, 0, :]
        out[items] = v / np.linalg.norm(v, axis=1, keepdims=True)
    # process_time: CPU seconds of every thread of this process (onnxruntime's pool included).
    return time.perf_counter() - start, time.process_time() - cpu, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='/tmp/quarry-parity')
    ap.add_argument('--docs', type=int, default=256)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reuse', action='store_true', help='time the model already in --out instead of building it again')
    args = ap.parse_args()
    import onnxruntime as ort
    from tokenizers import Tokenizer

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    folder = out / 'model'
    if args.reuse and (folder / 'onnx' / 'model_quantized.onnx').exists():
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(folder), device='cpu')
    else:
        st = build(folder, args.threads)
    texts = scifact(args.docs)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    results = {'docs': len(texts), 'threads': args.threads, 'runs': []}
    ref = {}
    for max_len in (512, 256):
        for variant in ('model.onnx', 'model_quantized.onnx'):
            sess = ort.InferenceSession(str(folder / 'onnx' / variant), opts, providers=['CPUExecutionProvider'])
            tok = Tokenizer.from_file(str(folder / 'tokenizer.json'))
            ort_encode(sess, tok, texts[:8], max_len, 32)  # warm-up
            secs, cpu, vecs = ort_encode(sess, tok, texts, max_len, 32)
            ref[(max_len, variant)] = vecs
            results['runs'].append({'stack': 'onnxruntime-python + tokenizers', 'precision': 'int8' if 'quant' in variant else 'fp32', 'maxLength': max_len, 'seconds': secs, 'cpuSeconds': cpu,
                                    'docsPerSec': len(texts) / secs, 'docsPerCpuSec': len(texts) / cpu})
            print(results['runs'][-1], flush=True)
        st.max_seq_length = max_len
        st.encode(texts[:8], batch_size=32)
        start, cpu = time.perf_counter(), time.process_time()
        vecs = st.encode(texts, batch_size=32, convert_to_numpy=True)
        secs, cpu = time.perf_counter() - start, time.process_time() - cpu
        results['runs'].append({'stack': 'sentence-transformers (PyTorch)', 'precision': 'fp32', 'maxLength': max_len, 'seconds': secs, 'cpuSeconds': cpu,
                                'docsPerSec': len(texts) / secs, 'docsPerCpuSec': len(texts) / cpu})
        print(results['runs'][-1], flush=True)
        fp32, int8 = ref[(max_len, 'model.onnx')], ref[(max_len, 'model_quantized.onnx')]
        results.setdefault('int8', {})[str(max_len)] = {'minCosine': float((fp32 * int8).sum(1).min()), 'meanCosine': float((fp32 * int8).sum(1).mean()),
                                                         'maxAbsOrtVsSt': float(np.abs(fp32 - vecs).max())}
    (out / 'python.json').write_text(json.dumps(results, indent=1))
    np.save(out / 'ort-fp32-512.npy', ref[(512, 'model.onnx')])
    print('wrote', out / 'python.json')


if __name__ == '__main__':
    main()
