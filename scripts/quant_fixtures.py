#!/usr/bin/env python3
"""Reference fixtures for the quantised matrix kernels (Sources/CTransformerKernels, MatrixKernels).

Needs: Python 3.11, numpy, gguf (gguf-py) 0.19, llama-cpp-python 0.3.x (only for the libggml-base/libggml-cpu
shared libraries it ships, called through ctypes; nothing is downloaded). Pins: scripts/requirements-transformer.txt.

For every weight type (F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K) it writes a ROWS x COLUMNS
matrix:
  - types gguf-py can quantise: random normal rows quantised with gguf.quants.quantize;
  - the K types: random valid blocks (random bytes, finite small f16 d / dmin);
and records
  weights_<T>.bin   the raw blocks, row after row
  dequant_<T>.f32   gguf.quants.dequantize of them (what MatrixKernels.dequantize must equal bit for bit)
  dot_<T>.f32       llama.cpp's CPU backend: type_traits_cpu[T].vec_dot of each row with each activation row,
                    the activation row converted with type_traits_cpu[vec_dot_type].from_float (token-major,
                    tokens x rows)
For the TOKENS x COLUMNS activations (random normal, plus a block of exact rounding ties, a zero block and a block
with one large negative value) it writes
  activations.f32   the floats
  act_<A>.bin       ggml's from_float for A in F16 BF16 Q8_0 Q8_1 Q8_K (bytes the Swift quantisers must equal)
  act_<A>.f32       those bytes dequantised here in numpy (d * q, or the f16/bf16 value)
and manifest.json with the shape and the ggml version.

Deterministic (fixed seed). Usage: python3 scripts/quant_fixtures.py
"""
import ctypes
import json
import os
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize, quantize

ROWS = 9
COLUMNS = 512
TOKENS = 5
SEED = 20250

OUT = Path(__file__).resolve().parent.parent / "Tests/LocalModelsTests/Fixtures/transformer/quant"

WEIGHT_TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
ACT_TYPES = ["F16", "BF16", "Q8_0", "Q8_1", "Q8_K"]
# Byte offsets of the f16 scale fields of each K block, and the block size.
K_LAYOUT = {"Q2_K": (84, [80, 82]), "Q3_K": (110, [108]), "Q4_K": (144, [0, 2]), "Q5_K": (176, [0, 2]),
            "Q6_K": (210, [208])}


def load_ggml():
    import llama_cpp

    lib = Path(os.path.dirname(llama_cpp.__file__)) / "lib"
    ctypes.CDLL(str(lib / "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
    cpu = ctypes.CDLL(str(lib / "libggml-cpu.so"), mode=ctypes.RTLD_GLOBAL)

    class Traits(ctypes.Structure):
        _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                    ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]

    cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(Traits)
    cpu.ggml_cpu_init()
    return cpu, llama_cpp.__version__


FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t, ctypes.c_void_p,
                           ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def qtype(name):
    return getattr(Q, name)


# (elements, bytes) per block as ggml-common.h has them (gguf-py's table still gives Q8_1 its old 40 bytes).
BLOCKS = {"F32": (1, 4), "F16": (1, 2), "BF16": (1, 2), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q5_0": (32, 22),
          "Q5_1": (32, 24), "Q8_0": (32, 34), "Q8_1": (32, 36), "Q2_K": (256, 84), "Q3_K": (256, 110),
          "Q4_K": (256, 144), "Q5_K": (256, 176), "Q6_K": (256, 210), "Q8_K": (256, 292)}


def row_bytes(name, n):
    elements, size = BLOCKS[name]
    return n // elements * size


def make_weights(name, rng):
    if name in K_LAYOUT:
        block_bytes, half_offsets = K_LAYOUT[name]
        blocks = rng.integers(0, 256, size=(ROWS * COLUMNS // 256, block_bytes), dtype=np.uint8)
        for offset in half_offsets:
            scale = (rng.uniform(0.2, 1.0, size=blocks.shape[0]) * 2e-3).astype(np.float16)
            blocks[:, offset:offset + 2] = scale.view(np.uint8).reshape(-1, 2)
        return blocks.reshape(ROWS, -1)
    data = rng.standard_normal((ROWS, COLUMNS)).astype(np.float32)
    return np.ascontiguousarray(quantize(data, qtype(name))).view(np.uint8).reshape(ROWS, -1)


def make_activations(rng):
    x = rng.standard_normal((TOKENS, COLUMNS)).astype(np.float32)
    # Token 0, block 1: exact rounding ties under 127 / amax (amax = 127, so x * id = x).
    ties = np.array([127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5] + [float(i) + 0.5 for i in range(24)], np.float32)
    x[0, 32:64] = ties
    # Token 1: a zero block (d = 0); token 2: one large negative value (Q8_K takes the sign of the max-abs value).
    x[1, 64:96] = 0
    x[1, 256:512] = 0
    x[2, 300] = -40.0
    return x


def dequantize_activation(name, raw):
    if name == "F16":
        return raw.view(np.float16).astype(np.float32)
    if name == "BF16":
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    if name in ("Q8_0", "Q8_1"):
        width = 34 if name == "Q8_0" else 36
        blocks = raw.reshape(-1, width)
        d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
        q = blocks[:, width - 32:].view(np.int8).astype(np.float32)
        return (d * q).reshape(-1)
    blocks = raw.reshape(-1, 292)
    d = blocks[:, :4].copy().view(np.float32)
    q = blocks[:, 4:260].view(np.int8).astype(np.float32)
    return (d * q).reshape(-1)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    cpu, version = load_ggml()
    rng = np.random.default_rng(SEED)
    x = make_activations(rng)
    x.tofile(OUT / "activations.f32")
    acts = {"F32": [np.ascontiguousarray(x[t]) for t in range(TOKENS)]}
    for name in ACT_TYPES:
        traits = cpu.ggml_get_type_traits_cpu(int(qtype(name))).contents
        convert = FROM_FLOAT(traits.from_float)
        rows = []
        for t in range(TOKENS):
            out = np.zeros(row_bytes(name, COLUMNS), np.uint8)
            row = np.ascontiguousarray(x[t])
            convert(row.ctypes.data, out.ctypes.data, COLUMNS)
            rows.append(out)
        acts[name] = rows
        np.concatenate(rows).tofile(OUT / f"act_{name}.bin")
        floats = np.concatenate([dequantize_activation(name, r) for r in rows]).astype(np.float32)
        floats.tofile(OUT / f"act_{name}.f32")

    for name in WEIGHT_TYPES:
        w = np.ascontiguousarray(make_weights(name, rng))
        assert w.shape == (ROWS, row_bytes(name, COLUMNS)), (name, w.shape)
        w.tofile(OUT / f"weights_{name}.bin")
        deq = dequantize(w, qtype(name)).astype(np.float32)
        assert deq.shape == (ROWS, COLUMNS) and np.isfinite(deq).all(), name
        deq.tofile(OUT / f"dequant_{name}.f32")
        traits = cpu.ggml_get_type_traits_cpu(int(qtype(name))).contents
        dot_type = Q(traits.vec_dot_type).name
        vec_dot = VEC_DOT(traits.vec_dot)
        result = np.zeros((TOKENS, ROWS), np.float32)
        s = ctypes.c_float()
        for t in range(TOKENS):
            a = acts[dot_type][t]
            for r in range(ROWS):
                row = np.ascontiguousarray(w[r])
                vec_dot(COLUMNS, ctypes.byref(s), 0, row.ctypes.data, 0, a.ctypes.data, 0, 1)
                result[t, r] = s.value
        result.tofile(OUT / f"dot_{name}.f32")

    manifest = {"rows": ROWS, "columns": COLUMNS, "tokens": TOKENS, "seed": SEED, "weightTypes": WEIGHT_TYPES,
                "activationTypes": ACT_TYPES, "gguf": "gguf-py " + getattr(gguf, "__version__", "0.19"),
                "ggml": "llama-cpp-python " + version}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (OUT / "README.md").write_text(
        "# Quantised kernel fixtures\n\nWritten by `python3 scripts/quant_fixtures.py` (see its docstring for each "
        "file); read by\n`Tests/LocalModelsTests/Transformer/Kernels/`. Rerun the script to regenerate them.\n")


if __name__ == "__main__":
    main()
