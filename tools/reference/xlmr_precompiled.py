#!/usr/bin/env python3
"""Builds the XLM-R shaped Unigram fixture with a sentencepiece `Precompiled` normalizer
(packages/encoders/test/fixtures/reference/tokenizers/xlmr-precompiled/), and its reference ids
from the Rust `tokenizers` library.

Real XLM-RoBERTa tokenizer.json files (xlm-roberta-base, jina-colbert-v2) normalise with the
sentencepiece model's precompiled_charsmap (nmt_nfkc); the NFKC-shaped `unigram` fixture of
build_fixtures.py does not cover that path. Run by developers, never by tests:

    /tmp/refvenv/bin/pip install sentencepiece protobuf
    /tmp/refvenv/bin/python tools/reference/xlmr_precompiled.py

The model is trained with sentencepiece itself (unigram, nmt_nfkc, single thread, fixed seed) on
SciFact documents plus the tricky strings, then laid out as transformers 4's XLMRobertaConverter
wrote the Hub files: fairseq ids (<s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last), normalizer
Sequence[Precompiled, Replace(' {2,}' -> ' ')], Metaspace pre-tokenizer, <s> $A </s>.
"""
from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OUT = ROOT / 'packages' / 'encoders' / 'test' / 'fixtures' / 'reference' / 'tokenizers' / 'xlmr-precompiled'
TRICKY = json.loads((HERE / 'tricky-strings.json').read_text())
# Strings aimed at the charsmap itself: multi-character rules (half-width kana + sound marks),
# combining sequences, grapheme clusters the map only partly covers, controls, U+FFFD, '～'.
EXTRA = [
    'ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ ｳﾞ ﾞ ﾟ ｱﾞ',
    'A\u030a e\u0301 \u1100\u1161\u11a8 \u0915\u094d\u0937 \u00c5\u0301',
    '～ 〜 ~ ＾ ＂ ＇ ｀ ￥ ￦ ￠',
    'ｘ\ufffdｙ \u00ad\u200b\u200c\u200d\u2060 \u2028 \u0085',
    '①②③ ㈱ ㍻ ㌔ ℃ ℉ № ℡ ㎏ ﬀ',
    '\u0001\u0002\u0008\u000e\u001f\u007f\u008f\u009f x',
    'ﾃﾞｨｰﾌﾟﾗｰﾆﾝｸﾞ',
    '👩\u200d🔬 🏳\ufe0f\u200d🌈 1\ufe0f\u20e3 é\u0301\u0301',
    '\u3000\u3000full\u3000width\uff01\uff1f',
    'Ǆ ǅ ǆ Ⓐ ⓐ ㊀ ︵ ﹏ ﹫',
    # Rust quirks: a cluster under 6 bytes takes the SHORTEST matching key and drops the rest
    # ('ﬀ\u0301' -> 'ff'); 'ｶﾞ' is 6 bytes, so it goes char by char (カ + U+3099, not ガ).
    'ﬀ\u0301 ①\u0301 ™\u0301 ﬁ\u0308 \u00c5\u0301 ｶﾞ ﾊﾟ',
    # Clusters that start or end with ASCII (prepended concatenation mark, CR LF, marks on ASCII).
    '\u06001 \u0600a\u0301 a\r\nb \r\n\r x\u200dy #\ufe0f\u20e3 i\u0307',
]
SEED = 20


def corpus_lines(limit=3000):
    lines = []
    with gzip.open(ROOT / 'datasets' / 'scifact' / 'corpus.jsonl.gz', 'rt') as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            doc = json.loads(line)
            lines.append((doc.get('title') or '') + ' ' + doc['text'])
    return lines + TRICKY + EXTRA


def train_spm() -> bytes:
    import sentencepiece as spm

    spm.set_random_generator_seed(SEED)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for s in corpus_lines() if s.strip()]),
        model_writer=model,
        model_type='unigram',
        vocab_size=1500,
        normalization_rule_name='nmt_nfkc',
        character_coverage=0.9995,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        max_sentence_length=1 << 16,
        minloglevel=2,
    )
    return model.getvalue()


def xlmr_tokenizer(model: bytes):
    """transformers 4's XLMRobertaConverter (the one that wrote the Hub's XLM-R tokenizer.json files)."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    proto = pb.ModelProto()
    proto.ParseFromString(model)
    vocab = [('<s>', 0.0), ('<pad>', 0.0), ('</s>', 0.0), ('<unk>', 0.0)]
    vocab += [(p.piece, p.score) for p in proto.pieces[3:]]
    vocab += [('<mask>', 0.0)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(proto.normalizer_spec.precompiled_charsmap), normalizers.Replace(Regex(' {2,}'), ' ')])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement='▁', prepend_scheme='always')
    tok.decoder = decoders.Metaspace(replacement='▁', prepend_scheme='always')
    tok.add_special_tokens(['<s>', '<pad>', '</s>', '<unk>', '<mask>'])
    tok.post_processor = processors.TemplateProcessing(
        single='<s> $A </s>', pair='<s> $A </s> </s> $B </s>', special_tokens=[('<s>', 0), ('</s>', 2)]
    )
    return tok


def main():
    import sentencepiece
    import tokenizers

    OUT.mkdir(parents=True, exist_ok=True)
    tok = xlmr_tokenizer(train_spm())
    tok.save(str(OUT / 'tokenizer.json'))
    tok = tokenizers.Tokenizer.from_file(str(OUT / 'tokenizer.json'))
    strings = TRICKY + EXTRA
    ref = {
        'versions': {'tokenizers': tokenizers.__version__, 'sentencepiece': sentencepiece.__version__},
        'strings': strings,
        'normalized': [tok.normalizer.normalize_str(s) for s in strings],
        'ids': [tok.encode(s).ids for s in strings],
        'bare': [tok.encode(s, add_special_tokens=False).ids for s in strings],
    }
    tok.enable_truncation(max_length=16)
    ref['truncated16'] = [tok.encode(s).ids for s in strings]
    (OUT / 'reference.json').write_text(json.dumps(ref, ensure_ascii=True, separators=(',', ':')))


if __name__ == '__main__':
    main()
