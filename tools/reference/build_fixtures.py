#!/usr/bin/env python3
"""Builds Quarry's reference fixtures: small random-weight models in the standard folder layouts,
their ONNX exports (fp32 and dynamic int8), and the reference outputs of the Python stack
(the Rust `tokenizers` library, sentence-transformers SentenceTransformer / MultiVectorEncoder).

Run by developers when the fixtures change, never by tests or CI (they read the committed outputs):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch sentence-transformers tokenizers onnx onnxruntime onnxscript
    /tmp/refvenv/bin/python tools/reference/build_fixtures.py
    # after editing tricky-strings.json only (keeps the trained tokenizers and the models):
    /tmp/refvenv/bin/python tools/reference/build_fixtures.py --reuse-tokenizers --only-tokenizers

    # after changing what is measured on the models (keeps the committed tokenizers, rebuilds the models
    # from their seeds and rewrites their reference.json):
    /tmp/refvenv/bin/python tools/reference/build_fixtures.py --reuse-tokenizers

Writes packages/encoders/test/fixtures/reference/ (see its README.md). Everything is seeded, but
ONNX files and float outputs are only reproducible up to library versions (recorded in versions.json),
and the trained tokenizers are not: `tokenizers` orders equally frequent merges differently from run to
run, so a run without --reuse-tokenizers changes every vocabulary (and so every id and vector).
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import string
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OUT = ROOT / 'packages' / 'encoders' / 'test' / 'fixtures' / 'reference'
TRICKY = json.loads((HERE / 'tricky-strings.json').read_text())
SEED = 20

# The texts every model is run on: short, long (past the length cap), multilingual, tricky.
TEXTS = [
    'What is the capital of France?',
    'Paris is the capital and most populous city of France.',
    'Aspirin reduces the risk of heart attack in some patients, but it can cause bleeding.',
    'ΟΔΟΣ ΣΟΦΟΣ: Greek text with a final sigma',
    'Ünïcödé café naïve résumé',
    '東京大学の研究者 𠀀𪚥',
    'emoji 😀 and [SEP] literal',
    ' '.join(['a long document that goes on and on past the length cap'] * 12),
    'x',
    'BRCA1/2 mutations & TP53: p<0.001, n=1,024',
]
QUERIES = ['capital of France', 'does aspirin cause bleeding?', 'greek sigma']


def corpus_lines(limit=3000):
    lines = []
    with gzip.open(ROOT / 'datasets' / 'scifact' / 'corpus.jsonl.gz', 'rt') as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            doc = json.loads(line)
            lines.append((doc.get('title') or '') + ' ' + doc['text'])
    return lines + TRICKY + TEXTS


# ---------------------------------------------------------------- tokenizers

def train_tokenizers(tok_dir: Path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders, trainers, Regex

    lines = corpus_lines()
    made = {}

    def wordpiece(lowercase: bool, special: list[str]):
        tok = Tokenizer(models.WordPiece(unk_token='[UNK]', max_input_chars_per_word=100))
        tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.WordPieceTrainer(vocab_size=2000, special_tokens=special, min_frequency=2, limit_alphabet=400)
        tok.train_from_iterator(lines, trainer)
        cls, sep = tok.token_to_id('[CLS]'), tok.token_to_id('[SEP]')
        tok.post_processor = processors.TemplateProcessing(single='[CLS] $A [SEP]', pair='[CLS] $A [SEP] $B:1 [SEP]:1', special_tokens=[('[CLS]', cls), ('[SEP]', sep)])
        tok.decoder = decoders.WordPiece(prefix='##')
        return tok

    bert_special = ['[PAD]', '[unused0]', '[unused1]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    made['wordpiece-uncased'] = wordpiece(True, bert_special)
    made['wordpiece-cased'] = wordpiece(False, bert_special)

    # XLM-R shaped: Unigram + NFKC + Metaspace; <s>=0 <pad>=1 </s>=2 <unk>=3 like XLM-R.
    uni = Tokenizer(models.Unigram())
    uni.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(' {2,}'), ' ')])
    uni.pre_tokenizer = pre_tokenizers.Metaspace(replacement='▁', prepend_scheme='always')
    uni.decoder = decoders.Metaspace(replacement='▁', prepend_scheme='always')
    trainer = trainers.UnigramTrainer(vocab_size=2000, special_tokens=['<s>', '<pad>', '</s>', '<unk>', '<mask>'], unk_token='<unk>', shrinking_factor=0.75, max_piece_length=16)
    uni.train_from_iterator(lines, trainer)
    uni.post_processor = processors.RobertaProcessing(('</s>', 2), ('<s>', 0))
    made['unigram'] = uni

    # RoBERTa / GPT-2 shaped byte-level BPE.
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=['<s>', '<pad>', '</s>', '<unk>', '<mask>'], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(lines, trainer)
    bpe.post_processor = processors.RobertaProcessing(('</s>', 2), ('<s>', 0), trim_offsets=True, add_prefix_space=False)
    made['bpe-bytelevel'] = bpe

    # Normalizer sequences outside BertNormalizer, on the uncased WordPiece vocabulary.
    base = json.loads(made['wordpiece-uncased'].to_str())
    for name, norm in {
        'wordpiece-nfd-lower-strip': normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()]),
        'wordpiece-nfkc-lower': normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
        'wordpiece-nfc': normalizers.NFC(),
    }.items():
        t = Tokenizer.from_str(json.dumps(base))
        t.normalizer = norm
        made[name] = t

    tok_dir.mkdir(parents=True, exist_ok=True)
    for name, tok in made.items():
        d = tok_dir / name
        d.mkdir(exist_ok=True)
        tok.save(str(d / 'tokenizer.json'))
    return made


def tokenizer_reference(made, out: Path):
    """Reference ids of every tricky string: with and without special tokens, and truncated to 16."""
    from tokenizers import Tokenizer

    ref = {'strings': TRICKY, 'tokenizers': {}}
    files = {name: OUT / 'tokenizers' / name / 'tokenizer.json' for name in made}
    files['bert-base-uncased'] = ROOT / 'packages' / 'encoders' / 'tokenizers' / 'bert-base-uncased' / 'tokenizer.json'
    for name, file in files.items():
        tok = Tokenizer.from_file(str(file))
        ids = [tok.encode(s).ids for s in TRICKY]
        bare = [tok.encode(s, add_special_tokens=False).ids for s in TRICKY]
        tok.enable_truncation(max_length=16)
        trunc = [tok.encode(s).ids for s in TRICKY]
        ref['tokenizers'][name] = {'file': os.path.relpath(file, OUT), 'ids': ids, 'bare': bare, 'truncated16': trunc}
    out.write_text(json.dumps(ref, ensure_ascii=True, separators=(',', ':')))


# ---------------------------------------------------------------- models

def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + '\n')


def hf_tokenizer_files(tok_json: Path, folder: Path, kind: str, model_max_length: int, extra_added: list[str] | None = None):
    """tokenizer.json + tokenizer_config.json + special_tokens_map.json as transformers writes them."""
    from transformers import PreTrainedTokenizerFast

    if kind == 'bert':
        specials = dict(unk_token='[UNK]', sep_token='[SEP]', pad_token='[PAD]', cls_token='[CLS]', mask_token='[MASK]')
    else:
        specials = dict(bos_token='<s>', eos_token='</s>', unk_token='<unk>', sep_token='</s>', pad_token='<pad>', cls_token='<s>', mask_token='<mask>')
    tok = PreTrainedTokenizerFast(tokenizer_file=str(tok_json), model_max_length=model_max_length, **specials)
    if extra_added:
        tok.add_tokens(extra_added)
    tok.save_pretrained(str(folder))
    return tok


def bert_config(vocab_size: int, **kw):
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=128, pad_token_id=0, **kw)


def export_onnx(module: torch.nn.Module, path: Path, output_names: list[str], with_token_types: bool):
    path.parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    ids = torch.tensor([[4, 10, 11, 12, 5], [4, 13, 5, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    args = (ids, mask) + ((torch.zeros_like(ids),) if with_token_types else ())
    names = ['input_ids', 'attention_mask'] + (['token_type_ids'] if with_token_types else [])
    axes = {n: {0: 'batch', 1: 'sequence'} for n in names}
    for o in output_names:
        axes[o] = {0: 'batch', 1: 'sequence'}
    torch.onnx.export(module, args, str(path), input_names=names, output_names=output_names, dynamic_axes=axes, opset_version=17, dynamo=False)
    import onnx

    m = onnx.load(str(path))
    onnx.save(m, str(path))  # inline any external data


class HiddenState(torch.nn.Module):
    """The transformer's last_hidden_state, as Optimum's feature-extraction export gives it."""

    def __init__(self, model, token_types: bool):
        super().__init__()
        self.model = model
        self.token_types = token_types

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kw = {'token_type_ids': token_type_ids} if self.token_types else {}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **kw).last_hidden_state


def quantize(src: Path, dst: Path):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)


def ort_run(path: Path, batch: dict[str, np.ndarray], output: str) -> np.ndarray:
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    feeds = {i.name: batch[i.name] for i in s.get_inputs()}
    return s.run([output], feeds)[0]


def tolist(a) -> list:
    return np.asarray(a, dtype=np.float32).astype(float).tolist()


def st_folder(name: str, tok_name: str, pooling: str, *, dense: int | None = None, normalize: bool, max_seq_length: int | None,
              model_max_length: int, prompts: dict | None, default_prompt: str | None, onnx_layout: str, int8: bool, arch: str = 'bert',
              legacy_max_seq_length: int | None = None):
    """A sentence-transformers folder as `SentenceTransformer.save` writes it, with the ONNX export beside it."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import AutoModel

    torch.manual_seed(SEED + len(name))
    work = Path('/tmp/quarry-ref-build') / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    kind = 'roberta' if arch in ('xlmr', 'modernbert') else 'bert'
    hf = hf_tokenizer_files(OUT / 'tokenizers' / tok_name / 'tokenizer.json', work, kind, model_max_length)
    if arch == 'bert':
        cfg = bert_config(len(hf))
    elif arch == 'xlmr':
        from transformers import XLMRobertaConfig

        cfg = XLMRobertaConfig(vocab_size=len(hf), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=130, pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1)
    else:
        from transformers import ModernBertConfig

        cfg = ModernBertConfig(vocab_size=len(hf), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=128, pad_token_id=1, bos_token_id=0, eos_token_id=2, cls_token_id=0, sep_token_id=2, global_attn_every_n_layers=1, local_attention=64)
        cfg._attn_implementation = 'eager'
    model = AutoModel.from_config(cfg, attn_implementation='eager')
    model.save_pretrained(str(work))
    modules = [Transformer(str(work), max_seq_length=max_seq_length)]
    modules.append(Pooling(modules[0].get_embedding_dimension(), pooling_mode=pooling))
    if dense:
        modules.append(Dense(32, dense, activation_function=torch.nn.Tanh()))
    if normalize:
        modules.append(Normalize())
    st = SentenceTransformer(modules=modules, prompts=prompts or {}, default_prompt_name=default_prompt)
    folder = OUT / 'models' / name
    shutil.rmtree(folder, ignore_errors=True)
    st.save(str(folder))
    if legacy_max_seq_length is not None:
        # sentence-transformers <= 5 kept the cap in sentence_bert_config.json (tokenizer_config says 512).
        write_json(folder / 'sentence_bert_config.json', {'max_seq_length': legacy_max_seq_length, 'do_lower_case': False})
    # The reference is the folder as saved, loaded back the way a user would load it.
    st = SentenceTransformer(str(folder), device='cpu')
    st.eval()
    modules = list(st)
    model = modules[0].auto_model
    token_types = 'token_type_ids' in st.tokenizer.model_input_names
    onnx_path = folder / ('onnx/model.onnx' if onnx_layout == 'onnx' else 'model.onnx')
    export_onnx(HiddenState(model, token_types), onnx_path, ['last_hidden_state'], token_types)
    if int8:
        quantize(onnx_path, onnx_path.with_name('model_quantized.onnx'))
    # The weights are in the ONNX file; the PyTorch copy is not read by Quarry and only makes the fixture big.
    for f in folder.glob('*.safetensors'):
        f.unlink()

    ref = {'texts': TEXTS, 'queries': QUERIES, 'max_seq_length': st.max_seq_length}
    with torch.no_grad():
        default = st.prompts.get(st.default_prompt_name) if st.default_prompt_name else None
        ref['ids'] = [st.preprocess([t], prompt=default)['input_ids'][0].tolist() for t in TEXTS]
        ref['query_ids'] = [st.preprocess([t], prompt=st.prompts.get('query', default))['input_ids'][0].tolist() for t in QUERIES]
        ref['embeddings'] = tolist(st.encode(TEXTS, convert_to_numpy=True, batch_size=4))
        ref['query_embeddings'] = tolist(st.encode_query(QUERIES, convert_to_numpy=True))
        ref['document_embeddings'] = tolist(st.encode_document(TEXTS[:3], convert_to_numpy=True))
        dim = st.get_embedding_dimension()
        ref['truncate_dim'] = dim // 2
        ref['truncated'] = tolist(st.encode(TEXTS, convert_to_numpy=True, truncate_dim=dim // 2, normalize_embeddings=True))
        # Other pooling modes on the same transformer (tests rewrite 1_Pooling/config.json to match).
        if not dense:
            ref['pooling'] = {}
            for mode in ['cls', 'mean', 'max', 'lasttoken', 'weightedmean', 'mean_sqrt_len_tokens']:
                alt = SentenceTransformer(modules=[modules[0], Pooling(32, pooling_mode=mode)] + ([Normalize()] if normalize else []), device='cpu')
                ref['pooling'][mode] = tolist(alt.encode(TEXTS, convert_to_numpy=True, batch_size=4))
            # Several modes at once: sentence-transformers concatenates them in the order given.
            ref['pooling_concat'] = {}
            for modes in (('cls', 'mean'), ('max', 'mean', 'mean_sqrt_len_tokens'), ('weightedmean', 'lasttoken')):
                alt = SentenceTransformer(modules=[modules[0], Pooling(32, pooling_mode=modes)] + ([Normalize()] if normalize else []), device='cpu')
                ref['pooling_concat']['+'.join(modes)] = tolist(alt.encode(TEXTS, convert_to_numpy=True, batch_size=4))
            # include_prompt: false (INSTRUCTOR-style): the query prompt's tokens are left out of pooling.
            if st.prompts.get('query'):
                ref['pooling_without_prompt'] = {}
                for mode in ['cls', 'mean', 'max', 'lasttoken', 'weightedmean', 'mean_sqrt_len_tokens']:
                    alt = SentenceTransformer(modules=[modules[0], Pooling(32, pooling_mode=mode, include_prompt=False)] + ([Normalize()] if normalize else []),
                                              prompts=st.prompts, default_prompt_name=st.default_prompt_name, device='cpu')
                    ref['pooling_without_prompt'][mode] = tolist(alt.encode_query(QUERIES, convert_to_numpy=True))
        if int8:
            # int8: onnxruntime-python on the quantized file, same ids, same pooling as the fp32 reference.
            batch = st.preprocess(TEXTS)
            feeds = {k: v.numpy().astype(np.int64) for k, v in batch.items() if k in ('input_ids', 'attention_mask', 'token_type_ids')}
            hidden = ort_run(onnx_path.with_name('model_quantized.onnx'), feeds, 'last_hidden_state')
            feats = {'token_embeddings': torch.from_numpy(hidden), 'attention_mask': batch['attention_mask']}
            for m in list(st)[1:]:
                feats = m(feats)
            ref['int8_embeddings'] = tolist(feats['sentence_embedding'])
    write_json(folder / 'reference.json', ref)
    return st


def colbert_models():
    """A PyLate-layout and a Stanford-layout ColBERT, with MultiVectorEncoder's outputs."""
    from sentence_transformers import MultiVectorEncoder
    from transformers import AutoModel
    from safetensors.torch import save_file

    results = {}
    # ---- PyLate (v1-3 layout): modules.json [Transformer, Dense], [Q]/[D] added tokens, settings in config_sentence_transformers.json.
    torch.manual_seed(SEED + 100)
    folder = OUT / 'models' / 'colbert-pylate'
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    hf = hf_tokenizer_files(OUT / 'tokenizers' / 'wordpiece-uncased' / 'tokenizer.json', folder, 'bert', 512, extra_added=['[Q] ', '[D] '])
    model = AutoModel.from_config(bert_config(len(hf)), attn_implementation='eager')
    model.save_pretrained(str(folder))
    write_json(folder / 'sentence_bert_config.json', {'max_seq_length': 31, 'do_lower_case': False})
    write_json(folder / 'modules.json', [
        {'idx': 0, 'name': '0', 'path': '', 'type': 'sentence_transformers.models.Transformer'},
        {'idx': 1, 'name': '1', 'path': '1_Dense', 'type': 'pylate.models.Dense.Dense'},
    ])
    dense_w = torch.randn(16, 32) * 0.2
    (folder / '1_Dense').mkdir()
    write_json(folder / '1_Dense' / 'config.json', {'in_features': 32, 'out_features': 16, 'bias': False, 'activation_function': 'torch.nn.modules.linear.Identity', 'use_residual': False})
    save_file({'linear.weight': dense_w.contiguous()}, str(folder / '1_Dense' / 'model.safetensors'))
    write_json(folder / 'config_sentence_transformers.json', {
        '__version__': {'sentence_transformers': '3.4.1', 'transformers': '4.48.2', 'pytorch': '2.5.1', 'pylate': '1.1.7'},
        'prompts': {}, 'default_prompt_name': None, 'similarity_fn_name': 'MaxSim',
        'query_prefix': '[Q] ', 'document_prefix': '[D] ', 'query_length': 16, 'document_length': 24,
        'attend_to_expansion_tokens': False, 'skiplist_words': list(string.punctuation), 'do_query_expansion': True, 'model_type': 'ColBERT',
    })
    export_onnx(HiddenState(model, True), folder / 'onnx' / 'model.onnx', ['last_hidden_state'], True)
    results['colbert-pylate'] = folder

    # ---- Stanford ColBERT (HF_ColBERT): config.json + model.safetensors with bert.* and linear.weight, artifact.metadata.
    torch.manual_seed(SEED + 200)
    folder = OUT / 'models' / 'colbert-stanford'
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    hf = hf_tokenizer_files(OUT / 'tokenizers' / 'wordpiece-uncased' / 'tokenizer.json', folder, 'bert', 512)
    cfg = bert_config(len(hf))
    model = AutoModel.from_config(cfg, attn_implementation='eager')
    linear = torch.nn.Linear(32, 16, bias=False)
    cfg.architectures = ['HF_ColBERT']
    cfg.save_pretrained(str(folder))
    state = {f'bert.{k}': v.contiguous() for k, v in model.state_dict().items()}
    state['linear.weight'] = linear.weight.detach().contiguous()
    save_file(state, str(folder / 'model.safetensors'))
    write_json(folder / 'artifact.metadata', {
        'query_token_id': '[unused0]', 'doc_token_id': '[unused1]', 'query_token': '[Q]', 'doc_token': '[D]',
        'query_maxlen': 16, 'doc_maxlen': 24, 'attend_to_mask_tokens': False, 'mask_punctuation': True, 'dim': 16, 'similarity': 'cosine',
    })

    class WithLinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = model
            self.linear = linear

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.linear(self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state)

    export_onnx(WithLinear(), folder / 'model.onnx', ['token_embeddings'], True)
    results['colbert-stanford'] = folder

    for name, folder in results.items():
        mve = MultiVectorEncoder(str(folder), device='cpu')
        mve.eval()
        with torch.no_grad():
            q = mve.encode_query(QUERIES, convert_to_numpy=False)
            d = mve.encode_document(TEXTS, convert_to_numpy=False)
            scores = mve.similarity(q, d)
        qi = [mve.preprocess([t], prompt=mve.prompts.get('query'), task='query')['input_ids'][0].tolist() for t in QUERIES]
        di = [mve.preprocess([t], prompt=mve.prompts.get('document'), task='document')['input_ids'][0].tolist() for t in TEXTS]
        write_json(folder / 'reference.json', {
            'texts': TEXTS, 'queries': QUERIES,
            'query_ids': qi, 'document_ids': di,
            'query_vectors': [tolist(v) for v in q], 'document_vectors': [tolist(v) for v in d],
            'maxsim': tolist(scores),
            'reference': 'sentence_transformers.MultiVectorEncoder (PyLate / Stanford-NLP ColBERT loaders)',
        })
        if name == 'colbert-pylate':
            for f in folder.glob('*.safetensors'):
                f.unlink()
        else:
            # Keep only linear.weight: Quarry reads the projection from the ONNX graph; the backbone is in model.onnx.
            from safetensors.torch import load_file

            lw = load_file(str(folder / 'model.safetensors'))['linear.weight']
            save_file({'linear.weight': lw}, str(folder / 'model.safetensors'))


def main():
    import time
    t0 = time.time()
    import onnx
    import onnxruntime
    import sentence_transformers
    import tokenizers
    import transformers

    if '--reuse-tokenizers' in sys.argv:
        from tokenizers import Tokenizer

        # xlmr-precompiled is xlmr_precompiled.py's (it writes its own reference).
        made = {d.name: Tokenizer.from_file(str(d / 'tokenizer.json')) for d in sorted((OUT / 'tokenizers').iterdir()) if d.is_dir() and d.name != 'xlmr-precompiled'}
    else:
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        made = train_tokenizers(OUT / 'tokenizers')
    print(f'tokenizers {time.time() - t0:.0f}s', file=sys.stderr)
    tokenizer_reference(made, OUT / 'tokenizers' / 'reference.json')
    if '--only-tokenizers' in sys.argv:
        return
    st_folder('bert-cls', 'wordpiece-uncased', 'cls', normalize=True, max_seq_length=24, model_max_length=512,
              prompts={'query': 'Represent this sentence for searching relevant passages: ', 'document': ''}, default_prompt=None, onnx_layout='onnx', int8=True)
    st_folder('bert-mean', 'wordpiece-cased', 'mean', normalize=True, max_seq_length=None, model_max_length=20,
              prompts={'query': 'query: ', 'document': 'passage: '}, default_prompt=None, onnx_layout='root', int8=False)
    st_folder('bert-dense', 'wordpiece-uncased', 'mean', dense=16, normalize=True, max_seq_length=None, model_max_length=512, legacy_max_seq_length=32,
              prompts={'query': 'query: ', 'classification': 'classify: '}, default_prompt='classification', onnx_layout='onnx', int8=False)
    st_folder('xlmr-unigram', 'unigram', 'mean', normalize=True, max_seq_length=40, model_max_length=512,
              prompts={}, default_prompt=None, onnx_layout='onnx', int8=True, arch='xlmr')
    try:
        st_folder('modernbert', 'bpe-bytelevel', 'mean', normalize=True, max_seq_length=40, model_max_length=8192,
                  prompts={'query': 'search_query: ', 'document': 'search_document: '}, default_prompt=None, onnx_layout='onnx', int8=False, arch='modernbert')
    except Exception as error:  # the exporter may not support it
        print('modernbert skipped:', error, file=sys.stderr)
        shutil.rmtree(OUT / 'models' / 'modernbert', ignore_errors=True)
    colbert_models()
    write_json(OUT / 'versions.json', {
        'torch': torch.__version__, 'transformers': transformers.__version__, 'sentence_transformers': sentence_transformers.__version__,
        'tokenizers': tokenizers.__version__, 'onnx': onnx.__version__, 'onnxruntime': onnxruntime.__version__, 'seed': SEED,
    })
    total = sum(f.stat().st_size for f in OUT.rglob('*') if f.is_file())
    print(f'wrote {OUT} ({total / 1e6:.2f} MB)')


if __name__ == '__main__':
    main()
