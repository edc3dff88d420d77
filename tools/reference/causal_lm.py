"""Reference fixtures for @quarry/llm2gr's ONNX causal-LM scorer (issue #20, item 6).

Builds small random-weight causal LMs with transformers (seeded), exports them to ONNX
in the layouts Quarry must read, and writes transformers' own log-probabilities for a
fixed beam walk, so the TypeScript tests can compare without Python:

  gpt2-split     GPT-2, `past_key_values.N.key|value` inputs, int64 ids (Optimum / torch.onnx style)
  gpt2-combined  GPT-2, `past_N` inputs of shape [2, batch, heads, past, head_dim], int32 ids
                 (the onnxruntime-genai layout)
  gpt2-merged    GPT-2 merged decoder: one graph with a `use_cache_branch` input and an If
                 node over a no-past and a with-past branch (the Optimum / transformers.js default)
  gpt2-fp16-logits  gpt2-split with a float16 `logits` output (fp16 exports), to check conversion
  llama-split    Llama (grouped-query attention, RoPE), int32 ids, a tokenizer whose post-processor
                 adds BOS (as Llama 3's does), so the scorer must add it as transformers does

Tokenizers are byte-level BPE tokenizers trained with the `tokenizers` library on the
bundled SciFact corpus, small enough that model vocabulary == tokenizer vocabulary.

Run by developers when the fixtures change (never by tests or CI):

  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch transformers tokenizers onnx onnxruntime onnxscript
  /tmp/venv/bin/python tools/reference/causal_lm.py

Output: packages/llm2gr/test/fixtures/reference/<name>/{model.onnx, tokenizer.json,
tokenizer_config.json, config.json, reference.json}.
"""

import gzip
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import helper
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import DynamicCache, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "packages", "llm2gr", "test", "fixtures", "reference")
SEED = 20261207
VOCAB = 384
STEPS = 12

PROMPTS = [
    "Title: Vitamin D deficiency and tuberculosis",
    "Passage: The microbiome of the gut influences",
    "Ünïcödé, emoji 🧪 and CJK 東京 in one prompt",
]


def corpus_lines(limit=600):
    with gzip.open(os.path.join(ROOT, "datasets", "scifact", "corpus.jsonl.gz"), "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            doc = json.loads(line)
            yield doc["title"]
            yield doc["text"]


def train_tokenizer(bos):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>"] + (["<|begin_of_text|>"] if bos else [])
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus_lines(), trainer)
    if bos:
        bos_id = tok.token_to_id("<|begin_of_text|>")
        tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B", special_tokens=[("<|begin_of_text|>", bos_id)])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


class Flat(torch.nn.Module):
    """model(input_ids, attention_mask, position_ids, *past) -> (logits, *present), past as flat tensors."""

    def __init__(self, model, layers, combined):
        super().__init__()
        self.model, self.layers, self.combined = model, layers, combined

    def forward(self, input_ids, attention_mask, position_ids, *past):
        input_ids, attention_mask, position_ids = input_ids.long(), attention_mask.long(), position_ids.long()
        cache = DynamicCache()
        for i in range(self.layers):
            if self.combined:
                k, v = past[i][0], past[i][1]
            else:
                k, v = past[2 * i], past[2 * i + 1]
            cache.update(k, v, i)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, past_key_values=cache, use_cache=True)
        present = []
        for i in range(self.layers):
            k, v = out.past_key_values.layers[i].keys, out.past_key_values.layers[i].values
            present.extend([torch.stack([k, v])] if self.combined else [k, v])
        return (out.logits, *present)


def export(model, cfg, name, combined, id_dtype, kv_heads, head_dim):
    layers = cfg.num_hidden_layers
    flat = Flat(model, layers, combined).eval()
    B, L, P = 2, 3, 4
    ids = torch.randint(0, VOCAB, (B, L), dtype=id_dtype)
    mask = torch.ones(B, P + L, dtype=id_dtype)
    pos = torch.arange(P, P + L, dtype=id_dtype).unsqueeze(0).expand(B, L).contiguous()
    if combined:
        past = [torch.randn(2, B, kv_heads, P, head_dim) for _ in range(layers)]
        past_names = [f"past_{i}" for i in range(layers)]
        present_names = [f"present_{i}" for i in range(layers)]
        past_axes = {n: {1: "batch", 3: "past"} for n in past_names}
        present_axes = {n: {1: "batch", 3: "total"} for n in present_names}
    else:
        past = [torch.randn(B, kv_heads, P, head_dim) for _ in range(2 * layers)]
        past_names = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
        present_names = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
        past_axes = {n: {0: "batch", 2: "past"} for n in past_names}
        present_axes = {n: {0: "batch", 2: "total"} for n in present_names}
    path = os.path.join(OUT, name, "model.onnx")
    torch.onnx.export(
        flat,
        (ids, mask, pos, *past),
        path,
        input_names=["input_ids", "attention_mask", "position_ids", *past_names],
        output_names=["logits", *present_names],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "seq"},
            "attention_mask": {0: "batch", 1: "total"},
            "position_ids": {0: "batch", 1: "seq"},
            "logits": {0: "batch", 1: "seq"},
            **past_axes,
            **present_axes,
        },
        opset_version=17,
        dynamo=False,
    )
    return path


def merge_decoder(with_past_path, out_path, layers, kv_heads, head_dim):
    """One graph, two branches: `use_cache_branch` false runs the prompt without past
    (its past inputs are ignored), true runs the with-past graph. The same layout Optimum's
    merged decoders have; both branches here come from the one with-past export, the
    no-past branch feeding zero-length past tensors into it."""
    src = onnx.load(with_past_path)
    g = src.graph
    past_names = [i.name for i in g.input if i.name.startswith("past_key_values")]

    def branch(prefix, empty_past):
        nodes, inits = [], []
        rename = {}
        for init in g.initializer:
            rename[init.name] = prefix + init.name
        for n in g.node:
            for o in n.output:
                rename[o] = prefix + o
        pre = []
        if empty_past:
            # A [batch, heads, 0, head_dim] tensor shaped from input_ids, in place of each past input.
            pre.append(helper.make_node("Shape", ["input_ids"], [prefix + "ids_shape"], name=prefix + "ids_shape"))
            pre.append(helper.make_node("Gather", [prefix + "ids_shape", prefix + "zero_i"], [prefix + "batch"], name=prefix + "batch", axis=0))
            inits.append(helper.make_tensor(prefix + "zero_i", onnx.TensorProto.INT64, [1], [0]))
            inits.append(helper.make_tensor(prefix + "rest", onnx.TensorProto.INT64, [3], [kv_heads, 0, head_dim]))
            pre.append(helper.make_node("Concat", [prefix + "batch", prefix + "rest"], [prefix + "empty_shape"], name=prefix + "empty_shape", axis=0))
            pre.append(helper.make_node("ConstantOfShape", [prefix + "empty_shape"], [prefix + "empty"], name=prefix + "empty", value=helper.make_tensor("v", onnx.TensorProto.FLOAT, [1], [0.0])))
            for p in past_names:
                rename[p] = prefix + "empty"
        for init in g.initializer:
            t = onnx.TensorProto()
            t.CopyFrom(init)
            t.name = rename[init.name]
            inits.append(t)
        for n in g.node:
            m = onnx.NodeProto()
            m.CopyFrom(n)
            m.name = prefix + n.name
            m.input[:] = [rename.get(x, x) if x else x for x in n.input]
            m.output[:] = [rename[x] for x in n.output]
            nodes.append(m)
        outputs = [helper.make_tensor_value_info(rename[o.name], o.type.tensor_type.elem_type, None) for o in g.output]
        # Branch outputs must be produced inside the branch: identity to the final names.
        final = [helper.make_node("Identity", [rename[o.name]], [prefix + "out_" + o.name], name=prefix + "out_" + o.name) for o in g.output]
        outs = [helper.make_tensor_value_info(prefix + "out_" + o.name, o.type.tensor_type.elem_type, None) for o in g.output]
        del outputs
        body = helper.make_graph(pre + nodes + final, prefix + "body", [], outs, initializer=[])
        return body, inits

    then_body, then_inits = branch("with_past/", False)
    else_body, else_inits = branch("no_past/", True)
    # Initializers live in the outer graph; branches reference them by name (outer scope).
    if_node = helper.make_node("If", ["use_cache_branch"], [o.name for o in g.output], name="optimum::if", then_branch=then_body, else_branch=else_body)
    inputs = list(g.input) + [helper.make_tensor_value_info("use_cache_branch", onnx.TensorProto.BOOL, [1])]
    merged = helper.make_graph([if_node], "merged_decoder", inputs, list(g.output), initializer=then_inits + else_inits)
    model = helper.make_model(merged, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = src.ir_version
    onnx.checker.check_model(model)
    onnx.save(model, out_path)


def reference(model, tok, name, bos_in_prompt):
    """transformers' log-softmax of the next token after each step of a fixed walk:
    prompt ids (tokenizer(prompt) as transformers calls it) then 12 seeded continuation tokens."""
    rng = np.random.default_rng(SEED)
    cases = []
    for prompt in PROMPTS:
        ids = tok.encode(prompt).ids  # with the post-processor's specials, as transformers' tokenizer(prompt)
        bare = tok.encode(prompt, add_special_tokens=False).ids
        walk = [int(x) for x in rng.integers(0, VOCAB, STEPS)]
        steps = []
        with torch.no_grad():
            for t in range(STEPS + 1):
                full = ids + walk[:t]
                logits = model(input_ids=torch.tensor([full])).logits[0, -1].double()
                steps.append([float(f"{x:.9g}") for x in torch.log_softmax(logits, -1).tolist()])
        cases.append({"prompt": prompt, "ids": ids, "bareIds": bare, "walk": walk, "logProbs": steps})
    ref = {
        "model": name,
        "generator": "tools/reference/causal_lm.py",
        "torch": torch.__version__,
        "bosInPrompt": bos_in_prompt,
        "vocab": VOCAB,
        "cases": cases,
    }
    with open(os.path.join(OUT, name, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))


def save_tokenizer(tok, name, bos):
    d = os.path.join(OUT, name)
    tok.save(os.path.join(d, "tokenizer.json"))
    cfg = {"model_max_length": 256, "eos_token": "<|endoftext|>", "tokenizer_class": "PreTrainedTokenizerFast"}
    if bos:
        cfg.update({"bos_token": "<|begin_of_text|>", "add_bos_token": True})
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def main():
    torch.manual_seed(SEED)
    os.makedirs(OUT, exist_ok=True)
    gpt2_tok = train_tokenizer(bos=False)
    llama_tok = train_tokenizer(bos=True)
    assert gpt2_tok.get_vocab_size() == VOCAB and llama_tok.get_vocab_size() == VOCAB, "tokenizer vocab must equal the model vocab"

    torch.manual_seed(SEED)
    gcfg = GPT2Config(vocab_size=VOCAB, n_positions=256, n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
    gpt2 = GPT2LMHeadModel(gcfg).eval()
    gcfg.num_hidden_layers = gcfg.n_layer
    for name, combined, dtype in (("gpt2-split", False, torch.int64), ("gpt2-combined", True, torch.int32)):
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        export(gpt2, gcfg, name, combined, dtype, 2, 16)
        save_tokenizer(gpt2_tok, name, False)
        gcfg.to_json_file(os.path.join(OUT, name, "config.json"))
        reference(gpt2, gpt2_tok, name, False)

    os.makedirs(os.path.join(OUT, "gpt2-merged"), exist_ok=True)
    merge_decoder(os.path.join(OUT, "gpt2-split", "model.onnx"), os.path.join(OUT, "gpt2-merged", "model.onnx"), 2, 2, 16)
    save_tokenizer(gpt2_tok, "gpt2-merged", False)
    gcfg.to_json_file(os.path.join(OUT, "gpt2-merged", "config.json"))
    reference(gpt2, gpt2_tok, "gpt2-merged", False)

    torch.manual_seed(SEED + 1)
    lcfg = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, bos_token_id=llama_tok.token_to_id("<|begin_of_text|>"), eos_token_id=0)
    llama = LlamaForCausalLM(lcfg).eval()
    os.makedirs(os.path.join(OUT, "llama-split"), exist_ok=True)
    export(llama, lcfg, "llama-split", False, torch.int32, 2, 8)
    save_tokenizer(llama_tok, "llama-split", True)
    lcfg.to_json_file(os.path.join(OUT, "llama-split", "config.json"))
    reference(llama, llama_tok, "llama-split", True)

    # A float16 `logits` output (as fp16 exports have): the fp32 graph with a Cast on logits.
    os.makedirs(os.path.join(OUT, "gpt2-fp16-logits"), exist_ok=True)
    half = onnx.load(os.path.join(OUT, "gpt2-split", "model.onnx"))
    for node in half.graph.node:
        node.output[:] = ["logits_fp32" if o == "logits" else o for o in node.output]
    half.graph.node.append(helper.make_node("Cast", ["logits_fp32"], ["logits"], name="logits_to_fp16", to=onnx.TensorProto.FLOAT16))
    for out in half.graph.output:
        if out.name == "logits":
            out.type.tensor_type.elem_type = onnx.TensorProto.FLOAT16
    onnx.checker.check_model(half)
    onnx.save(half, os.path.join(OUT, "gpt2-fp16-logits", "model.onnx"))
    save_tokenizer(gpt2_tok, "gpt2-fp16-logits", False)
    gcfg.to_json_file(os.path.join(OUT, "gpt2-fp16-logits", "config.json"))
    reference(gpt2, gpt2_tok, "gpt2-fp16-logits", False)

    # Check every export against transformers with onnxruntime before committing.
    import onnxruntime as ort

    for name in ("gpt2-split", "gpt2-combined", "gpt2-merged", "llama-split", "gpt2-fp16-logits"):
        sess = ort.InferenceSession(os.path.join(OUT, name, "model.onnx"))
        print(name, [(i.name, i.type, i.shape) for i in sess.get_inputs()][:4], os.path.getsize(os.path.join(OUT, name, "model.onnx")), "bytes")


if __name__ == "__main__":
    sys.exit(main())
