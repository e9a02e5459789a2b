#!/usr/bin/env python3
"""Reference model fixtures for the transformer engine, produced by llama.cpp itself.

Needs: Python 3.11, numpy, gguf (gguf-py) 0.19, llama-cpp-python (pins in scripts/requirements-transformer.txt)
and scripts/gguf_vocab.py (the shared tokenizer vocabularies).

    python3 scripts/transformer_fixtures.py                   # rewrites Tests/.../Fixtures/transformer/models/
    python3 scripts/transformer_fixtures.py --bench DIR       # two Qwen2.5-0.5B-shaped models (Q8_0, Q4_0) in DIR
    python3 scripts/transformer_fixtures.py --bench-llama DIR # llama.cpp prompt and decode tokens/s on them, JSON

What it does: writes random-weight llama/qwen2 GGUF files in F32 with gguf.GGUFWriter (the metadata keys and tensor
names convert_hf_to_gguf.py writes), quantises them with llama.cpp's own llama_model_quantize, then runs every file
through llama.cpp (F32 KV cache, no flash attention, 2 threads) and records the prompt tokens, the logits at every
prompt position and a 32-token greedy continuation with each step's top-2 margin. Everything is seeded, so a rerun
with the same library versions writes the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import gguf

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
OUT = ROOT / "Tests/LocalModelsTests/Fixtures/transformer/models"
sys.path.insert(0, str(SCRIPTS))

import gguf_vocab  # noqa: E402  (scripts/gguf_vocab.py, written by the tokenizer area)

SEED = 20240601
N_CTX = 256
GREEDY_STEPS = 32
GGML_TYPE_F32 = 0

# About 15, 24 and 40 tokens with the 512-token fixture vocabularies; "long" also seeds the greedy continuation.
PROMPTS = {
    "short": "Hello, world! How are you?",
    "unicode": "Naïve café in 東京 🙂",
    "long": "Once upon a time there was a little robot who wanted to learn how to paint.",
}


@dataclasses.dataclass(frozen=True)
class Shape:
    """One random-weight model: architecture, sizes and vocabulary."""

    name: str
    arch: str  # "llama" or "qwen2"
    vocab: str  # "spm", "bpe:llama-bpe", "bpe:qwen2"
    vocab_size: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    rope_base: float
    rms_eps: float
    tied: bool  # no output.weight: the logits reuse token_embd.weight
    bias: bool  # q/k/v biases (qwen2)
    seed: int
    residual_scale: float = 1.0  # scale of attn_output/ffn_down: how much the layers move the residual stream
    vocab_pad_from: int = 0  # > 0: train this many tokens, pad the rest (the bench's 151936-row vocabulary)

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


@dataclasses.dataclass(frozen=True)
class Variant:
    """One file made from a shape: llama.cpp's ftype and whether every 2-D tensor gets that one type."""

    shape: Shape
    ftype: str  # a LLAMA_FTYPE_* suffix; "ALL_F32" is the file GGUFWriter wrote
    pure: bool

    @property
    def file(self) -> str:
        suffix = self.ftype.replace("MOSTLY_", "").replace("ALL_", "").lower()
        return f"{self.shape.name}-{suffix}{'' if self.pure else '-mixed'}.gguf"


# Widths: llama-mha and qwen2 are 64/128 wide (not multiples of 256, so K-quants fall back there);
# llama-gqa is 256 wide so every K-quant applies.
LLAMA_MHA = Shape("llama-mha", "llama", "spm", 512, n_embd=64, n_layer=2, n_head=4, n_head_kv=4, n_ff=128,
                  rope_base=10000.0, rms_eps=1e-5, tied=False, bias=False, seed=SEED + 1)
LLAMA_GQA = Shape("llama-gqa", "llama", "bpe:llama-bpe", 512, n_embd=256, n_layer=2, n_head=4, n_head_kv=2,
                  n_ff=256, rope_base=500000.0, rms_eps=1e-5, tied=False, bias=False, seed=SEED + 2)
QWEN2 = Shape("qwen2", "qwen2", "bpe:qwen2", 512, n_embd=128, n_layer=2, n_head=4, n_head_kv=2, n_ff=256,
              rope_base=1000000.0, rms_eps=1e-6, tied=True, bias=True, seed=SEED + 3, residual_scale=2.0)

VARIANTS = [
    Variant(LLAMA_MHA, "ALL_F32", True),
    Variant(LLAMA_MHA, "MOSTLY_F16", True),
    Variant(LLAMA_MHA, "MOSTLY_BF16", True),
    Variant(LLAMA_MHA, "MOSTLY_Q8_0", True),
    Variant(LLAMA_MHA, "MOSTLY_Q4_0", True),
    Variant(LLAMA_MHA, "MOSTLY_Q4_1", True),
    Variant(LLAMA_MHA, "MOSTLY_Q5_0", True),
    Variant(LLAMA_GQA, "MOSTLY_Q4_K_S", True),  # pure: every 2-D tensor Q4_K
    Variant(LLAMA_GQA, "MOSTLY_Q5_K_S", True),  # pure: every 2-D tensor Q5_K
    Variant(LLAMA_GQA, "MOSTLY_Q6_K", True),
    Variant(LLAMA_GQA, "MOSTLY_Q4_K_M", False),  # llama.cpp's own mix: Q4_K with Q6_K for output and some V/down
    Variant(QWEN2, "MOSTLY_Q8_0", True),
    Variant(QWEN2, "MOSTLY_Q4_K_M", False),  # 128 wide: llama.cpp falls back from K-quants per tensor
]

# Qwen2.5-0.5B's shapes, for the speed comparison (not committed: about 0.5 GB each).
BENCH = Shape("bench-qwen2-0.5b", "qwen2", "bpe:qwen2", 151936, n_embd=896, n_layer=24, n_head=14, n_head_kv=2,
              n_ff=4864, rope_base=1000000.0, rms_eps=1e-6, tied=True, bias=True, seed=SEED + 9,
              residual_scale=2.0, vocab_pad_from=1500)
BENCH_VARIANTS = [Variant(BENCH, "MOSTLY_Q8_0", True), Variant(BENCH, "MOSTLY_Q4_0", True)]


# ---------------------------------------------------------------------------------------------------------------
# Weights


def random_tensors(s: Shape, dtype=np.float32) -> list[tuple[str, np.ndarray]]:
    """Tensors in numpy order (rows, row length); GGUF stores them reversed, so ne0 = row length.

    Scales: projections ~ N(0, 1/fan_in) keep the residual stream near rms 1; q/k a little larger so attention
    is not uniform; norms 1 +- 0.1; the output head at ~3/sqrt(n_embd) spreads the logits (std ~3), which keeps
    the top-2 margins mostly well above 0.05. A large q bias makes attention content-blind and a tied head
    favours the current token, so greedy decoding of the qwen2 shape fell into a one-token loop; a small q bias
    (the k bias still matters through RoPE) and residual_scale 2 keep its continuation varied.
    """
    rng = np.random.default_rng(s.seed)

    def normal(rows: int, cols: int, std: float) -> np.ndarray:
        return (rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(std)).astype(dtype)

    def norm(n: int) -> np.ndarray:
        return (1.0 + 0.1 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)

    d, kv, ff = s.n_embd, s.head_dim * s.n_head_kv, s.n_ff
    out: list[tuple[str, np.ndarray]] = [("token_embd.weight", normal(s.vocab_size, d, 1.0))]
    for i in range(s.n_layer):
        p = f"blk.{i}."
        out.append((p + "attn_norm.weight", norm(d)))
        out.append((p + "attn_q.weight", normal(d, d, 2.0 / np.sqrt(d))))
        out.append((p + "attn_k.weight", normal(kv, d, 2.0 / np.sqrt(d))))
        out.append((p + "attn_v.weight", normal(kv, d, 1.0 / np.sqrt(d))))
        if s.bias:
            out.append((p + "attn_q.bias", 0.1 * rng.standard_normal(d, dtype=np.float32)))
            out.append((p + "attn_k.bias", 0.5 * rng.standard_normal(kv, dtype=np.float32)))
            out.append((p + "attn_v.bias", 0.1 * rng.standard_normal(kv, dtype=np.float32)))
        out.append((p + "attn_output.weight", normal(d, d, s.residual_scale / np.sqrt(d))))
        out.append((p + "ffn_norm.weight", norm(d)))
        out.append((p + "ffn_gate.weight", normal(ff, d, 1.0 / np.sqrt(d))))
        out.append((p + "ffn_up.weight", normal(ff, d, 1.0 / np.sqrt(d))))
        out.append((p + "ffn_down.weight", normal(d, ff, s.residual_scale / np.sqrt(ff))))
    out.append(("output_norm.weight", norm(d)))
    if not s.tied:
        out.append(("output.weight", normal(s.vocab_size, d, 3.0 / np.sqrt(d))))
    else:
        # Tied: the embedding doubles as the head, so its rows carry the head's scale relative to the norm.
        name, emb = out[0]
        out[0] = (name, (emb.astype(np.float32) * np.float32(3.0 / np.sqrt(d))).astype(dtype))
    return out


def add_vocab(writer: gguf.GGUFWriter, s: Shape) -> int:
    if s.vocab_pad_from:
        return add_padded_bpe_vocab(writer, s)
    if s.vocab == "spm":
        n = gguf_vocab.add_spm_vocab(writer, size=s.vocab_size)
    else:
        n = gguf_vocab.add_bpe_vocab(writer, pre=s.vocab.split(":", 1)[1], size=s.vocab_size)
    if n != s.vocab_size:
        raise SystemExit(f"gguf_vocab gave {n} tokens for {s.vocab}, expected {s.vocab_size}")
    return n


def add_padded_bpe_vocab(writer: gguf.GGUFWriter, s: Shape) -> int:
    """A trained vocabulary of `vocab_pad_from` tokens padded with "[PADn]" (type UNUSED) up to the model's
    vocab_size, the way convert_hf_to_gguf.py pads Qwen2.5's 151665 tokens to its 151936 embedding rows.
    gguf_vocab trains on a small corpus, so it cannot make 151936 real tokens itself."""
    tokens, types, merges, spec = gguf_vocab.bpe_vocab(s.vocab.split(":", 1)[1], s.vocab_pad_from)
    for i in range(len(tokens), s.vocab_size):
        tokens.append(f"[PAD{i}]")
        types.append(int(gguf.TokenType.UNUSED))
    index = {t: i for i, t in enumerate(tokens)}
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(s.vocab.split(":", 1)[1])
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(index[spec["bos"]])
    writer.add_eos_token_id(index[spec["eos"]])
    if spec["pad"]:
        writer.add_pad_token_id(index[spec["pad"]])
    writer.add_add_bos_token(spec["add_bos"])
    writer.add_add_eos_token(False)
    return len(tokens)


def write_base(s: Shape, path: Path, dtype=np.float32) -> None:
    """The unquantised file, with the keys convert_hf_to_gguf.py writes for this architecture."""
    w = gguf.GGUFWriter(str(path), s.arch)
    w.add_name(s.name)
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if dtype == np.float32 else gguf.LlamaFileType.MOSTLY_F16)
    w.add_context_length(4096)
    w.add_embedding_length(s.n_embd)
    w.add_block_count(s.n_layer)
    w.add_feed_forward_length(s.n_ff)
    w.add_head_count(s.n_head)
    w.add_head_count_kv(s.n_head_kv)
    w.add_layer_norm_rms_eps(s.rms_eps)
    w.add_rope_freq_base(s.rope_base)
    if s.arch == "llama":
        w.add_vocab_size(s.vocab_size)
        w.add_rope_dimension_count(s.head_dim)
    add_vocab(w, s)
    for name, t in random_tensors(s, dtype):
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@contextlib.contextmanager
def quiet(enabled: bool = True):
    """llama.cpp logs to the process's stdout/stderr file descriptors; silence them unless --verbose."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def quantize(src: Path, dst: Path, ftype: str, pure: bool, silent: bool) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, "LLAMA_FTYPE_" + ftype)
    params.pure = pure
    params.nthread = 2
    with quiet(silent):
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise SystemExit(f"llama_model_quantize({src.name} -> {ftype}) failed: {rc}")


def tensor_types(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in gguf.GGUFReader(str(path)).tensors:
        counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    return dict(sorted(counts.items()))


def tensor_table(path: Path) -> dict[str, str]:
    return {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(path)).tensors}


# ---------------------------------------------------------------------------------------------------------------
# References


def load_llama(path: Path, silent: bool, n_ctx: int = N_CTX, logits_all: bool = True):
    """llama.cpp on its plain CPU path.

    `use_extra_bufts = False` turns off the repacked (Q4_0 8x8, Q4_K 8x8) and AMX weight buffers: a -march=native
    build on an AMX CPU whose hypervisor does not grant AMX state dies with SIGILL on the first Q8_0 matmul, and
    the plain path is also the one every CPU shares. llama_cpp.Llama has no argument for it, so the default
    model params are wrapped while the model loads.
    """
    import llama_cpp
    import llama_cpp.llama_cpp as low

    default_params = low.llama_model_default_params

    def plain_params():
        params = default_params()
        params.use_extra_bufts = False
        return params

    low.llama_model_default_params = plain_params
    try:
        with quiet(silent):
            return llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_batch=512, logits_all=logits_all, n_threads=2, n_threads_batch=2,
                seed=0, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, flash_attn=False, verbose=False,
            )
    finally:
        low.llama_model_default_params = default_params


def top2_margin(row: np.ndarray) -> float:
    top = np.partition(row, -2)[-2:]
    return float(top[1] - top[0])


def references(v: Variant, path: Path, out_dir: Path, silent: bool) -> list[dict]:
    """Tokens, logits at every prompt position, and a greedy continuation of the longest prompt."""
    llm = load_llama(path, silent)
    stem = path.stem
    result = []
    longest = max(PROMPTS, key=lambda k: len(PROMPTS[k]))
    for key, text in PROMPTS.items():
        tokens = llm.tokenize(text.encode(), add_bos=True, special=False)
        llm.reset()
        with quiet(silent):
            llm.eval(tokens)
        logits = np.array(llm.scores[: len(tokens)], dtype=np.float32)
        if not np.all(np.isfinite(logits)):
            raise SystemExit(f"{stem}/{key}: non-finite logits")
        name = f"{stem}.{key}.logits.f32"
        logits.astype("<f4").tofile(out_dir / name)
        entry = {
            "name": key, "text": text, "tokens": [int(t) for t in tokens], "logits": name,
            "logits_shape": [len(tokens), llm.n_vocab()],
            "top2_margins": [round(top2_margin(r), 6) for r in logits],
        }
        if key == longest:
            greedy, margins = [], []
            row = logits[-1]
            for _ in range(GREEDY_STEPS):
                tok = int(np.argmax(row))  # first maximum: the lowest id wins ties, like llama.cpp's greedy sampler
                greedy.append(tok)
                margins.append(round(top2_margin(row), 6))
                with quiet(silent):
                    llm.eval([tok])
                row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            entry["greedy_tokens"] = greedy
            entry["greedy_margins"] = margins
        result.append(entry)
    with quiet(silent):
        llm.close()
    return result


# llama.cpp's own samplers on random logits, for the Swift sampler's filters: (name, vocab, penalties
# (window, repeat, frequency, presence) or None, top_k, top_p, min_p). 0 / 1 / 0 switch a filter off.
SAMPLING_CASES = [
    ("penalties", 64, (16, 1.3, 0.4, 0.7), 0, 1.0, 0.0),
    ("penalties-whole-history", 64, (40, 0.8, -0.25, 0.5), 0, 1.0, 0.0),
    ("top-k", 64, None, 5, 1.0, 0.0),
    ("top-p", 64, None, 0, 0.8, 0.0),
    ("top-p-peaked", 300, None, 0, 0.95, 0.0),
    ("min-p", 64, None, 0, 1.0, 0.1),
    ("top-k-top-p", 64, None, 10, 0.5, 0.0),
    ("chain", 128, (64, 1.1, 0.2, 0.3), 20, 0.9, 0.05),
]


def sampling_references() -> dict:
    """Each case: logits, history, and what llama.cpp's chain (penalties, top-k, top-p, min-p) keeps."""
    import llama_cpp as lc

    rng = np.random.default_rng(SEED + 100)
    cases = []
    for name, vocab, penalties, top_k, top_p, min_p in SAMPLING_CASES:
        scale = 6.0 if "peaked" in name else 2.0
        logits = (rng.standard_normal(vocab) * scale).astype(np.float32)
        history = [int(t) for t in rng.integers(0, vocab // 4, 40)]  # a small range, so tokens repeat
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        if penalties:
            window, repeat, frequency, presence = penalties
            # This binding's signature still takes n_vocab first (checked: the second argument is the window).
            penalties_sampler = lc.llama_sampler_init_penalties(vocab, window, repeat, frequency, presence)
            lc.llama_sampler_chain_add(chain, penalties_sampler)
        if top_k > 0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_k(top_k))
        if top_p < 1:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_p(top_p, 1))
        if min_p > 0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_min_p(min_p, 1))
        for t in history:
            lc.llama_sampler_accept(chain, t)
        data = (lc.llama_token_data * vocab)()
        for i in range(vocab):
            data[i].id, data[i].logit, data[i].p = i, float(logits[i]), 0.0
        cur = lc.llama_token_data_array(data=data, size=vocab, selected=-1, sorted=False)
        lc.llama_sampler_apply(chain, ctypes.byref(cur))
        kept = sorted((int(cur.data[i].id), float(cur.data[i].logit)) for i in range(cur.size))
        lc.llama_sampler_free(chain)
        cases.append({
            "name": name, "logits": [float(x) for x in logits], "history": history,
            "penalty_window": penalties[0] if penalties else 0,
            "repetition_penalty": penalties[1] if penalties else 1.0,
            "frequency_penalty": penalties[2] if penalties else 0.0,
            "presence_penalty": penalties[3] if penalties else 0.0,
            "top_k": top_k, "top_p": top_p, "min_p": min_p,
            "kept_ids": [k for k, _ in kept], "kept_logits": [v for _, v in kept],
        })
    return {"generator": "scripts/transformer_fixtures.py (llama.cpp samplers through llama_cpp)",
            "llama_cpp_python": lc.__version__, "cases": cases}


def shape_json(s: Shape) -> dict:
    return {
        "vocab_size": s.vocab_size, "n_embd": s.n_embd, "n_layer": s.n_layer, "n_head": s.n_head,
        "n_head_kv": s.n_head_kv, "head_dim": s.head_dim, "n_ff": s.n_ff, "rope_freq_base": s.rope_base,
        "rms_norm_eps": s.rms_eps, "tied_embeddings": s.tied, "qkv_bias": s.bias,
    }


def generate(silent: bool) -> None:
    import llama_cpp

    if OUT.exists():
        for p in OUT.iterdir():
            if p.suffix in (".gguf", ".f32") or p.name in ("manifest.json", "sampling.json"):
                p.unlink()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {
        "generator": "scripts/transformer_fixtures.py",
        "llama_cpp_python": llama_cpp.__version__,
        "gguf_py": getattr(gguf, "__version__", "0.19"),
        "reference_settings": {
            "n_ctx": N_CTX, "n_batch": 512, "n_threads": 2, "type_k": "F32", "type_v": "F32", "flash_attn": False,
            "use_extra_bufts": False,
            "logits": "whole prompt in one batch; little-endian float32, positions x vocab, row-major",
            "greedy": f"{GREEDY_STEPS} steps from the longest prompt, one token per decode; margin = top1 - top2 "
                      "of the logits the step chose from",
        },
        "models": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        bases: dict[str, Path] = {}
        for v in VARIANTS:
            s = v.shape
            if s.name not in bases:
                bases[s.name] = Path(tmp) / f"{s.name}-f32.gguf"
                write_base(s, bases[s.name])
            dst = OUT / v.file
            if v.ftype == "ALL_F32":
                shutil.copyfile(bases[s.name], dst)
            else:
                quantize(bases[s.name], dst, v.ftype, v.pure, silent)
            t0 = time.time()
            prompts = references(v, dst, OUT, silent)
            entry = {
                "file": v.file, "architecture": s.arch, "shape_name": s.name, "shape": shape_json(s),
                "vocab": s.vocab, "llama_ftype": v.ftype, "pure": v.pure,
                "bytes": dst.stat().st_size,
                "sha256": hashlib.sha256(dst.read_bytes()).hexdigest(),
                "tensor_types": tensor_types(dst), "tensors": tensor_table(dst), "prompts": prompts,
            }
            manifest["models"].append(entry)
            print(f"{v.file}: {entry['bytes']} bytes, types {entry['tensor_types']}, "
                  f"tokens {[len(p['tokens']) for p in prompts]}, {time.time() - t0:.1f}s", file=sys.stderr)
    (OUT / "sampling.json").write_text(json.dumps(sampling_references(), indent=1) + "\n")
    present = sorted({t for m in manifest["models"] for t in m["tensor_types"]})
    manifest["tensor_types_present"] = present
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"types present: {present}; {total} bytes in {OUT}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------------
# Speed comparison (files outside the repo)


def bench_write(out_dir: Path, silent: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"{BENCH.name}-f16.gguf"
    t0 = time.time()
    write_base(BENCH, base, dtype=np.float16)  # F16 base: half the temporary disk of F32, same quantised result
    print(f"wrote {base.name} in {time.time() - t0:.0f}s", file=sys.stderr)
    for v in BENCH_VARIANTS:
        t0 = time.time()
        quantize(base, out_dir / v.file, v.ftype, v.pure, silent)
        print(f"wrote {v.file} in {time.time() - t0:.0f}s", file=sys.stderr)
    base.unlink()


def bench_llama(out_dir: Path, silent: bool, prompt_tokens: int = 128, decode_tokens: int = 64) -> None:
    """Prompt and decode speed of llama.cpp on 2 threads, by wall clock (time.perf_counter) around the binding's
    eval calls, after a warm-up. Only the last position's logits are computed and read (logits_all off), as an
    engine serving requests does, so the time is llama_decode plus one vocabulary-sized argmax per token.

    llama.cpp's own counters (llama_perf_context) are printed too but are not the result: through the binding
    the prompt's compute is booked when the next call synchronises, so t_p_eval_ms comes out near zero.
    """
    import llama_cpp

    results = []
    for v in BENCH_VARIANTS:
        path = out_dir / v.file
        llm = load_llama(path, silent, n_ctx=prompt_tokens + decode_tokens + 8, logits_all=False)
        n_vocab = llm.n_vocab()

        def last_logits() -> np.ndarray:
            return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,))

        # Random ordinary-token ids (deterministic), so the prompt length is exact whatever the vocabulary.
        rng = np.random.default_rng(SEED)
        prompt = [int(t) for t in rng.integers(min(300, n_vocab // 2), min(1400, n_vocab), prompt_tokens)]
        with quiet(silent):
            llm.eval(prompt[:16])  # warm-up: pages in the mapped weights, sizes the compute buffers
            llm.eval([int(np.argmax(last_logits()))])
            llm.reset()
            llama_cpp.llama_perf_context_reset(llm.ctx)
            t0 = time.perf_counter()
            llm.eval(prompt)
            tok = int(np.argmax(last_logits()))
            t1 = time.perf_counter()
            for _ in range(decode_tokens):
                llm.eval([tok])
                tok = int(np.argmax(last_logits()))
            t2 = time.perf_counter()
            perf = llama_cpp.llama_perf_context(llm.ctx)
            llm.close()
        results.append({
            "file": v.file, "threads": 2, "prompt_tokens": prompt_tokens, "decode_tokens": decode_tokens,
            "prompt_tokens_per_s": round(prompt_tokens / (t1 - t0), 2),
            "decode_tokens_per_s": round(decode_tokens / (t2 - t1), 2),
            "llama_perf_context": {"t_p_eval_ms": round(perf.t_p_eval_ms, 3), "n_p_eval": perf.n_p_eval,
                                   "t_eval_ms": round(perf.t_eval_ms, 3), "n_eval": perf.n_eval},
        })
    print(json.dumps({
        "llama_cpp_python": llama_cpp.__version__,
        "timing": "wall clock around llama_cpp eval (llama_decode + last-row argmax), after a warm-up",
        "machine_load": os.getloadavg()[0], "cpus": os.cpu_count(), "results": results,
    }, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", metavar="OUTDIR", type=Path, help="write the two bench models into OUTDIR")
    ap.add_argument("--bench-llama", metavar="OUTDIR", type=Path, help="time llama.cpp on the bench models")
    ap.add_argument("--verbose", action="store_true", help="let llama.cpp log")
    args = ap.parse_args()
    silent = not args.verbose
    if args.bench:
        bench_write(args.bench, silent)
    if args.bench_llama:
        bench_llama(args.bench_llama, silent)
    if not args.bench and not args.bench_llama:
        generate(silent)


if __name__ == "__main__":
    main()
