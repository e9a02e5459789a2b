"""`tollgate embed` through the real binary: one JSON array of floats per text, one per line.

Expected vectors come from the committed embedding fixtures (Tests/LocalModelsTests/Fixtures/embedding, written by
scripts/embedding_fixtures.py: a float64 numpy BERT on each file's weights) and, when scripts/setup.sh has
converted it, from the real all-MiniLM-L6-v2 (minilm.json: the numpy BERT on its F32 safetensors weights).
"""

from __future__ import annotations

import json
import math

import pytest

from harness import REPO_ROOT, run_cli

FIXTURES = REPO_ROOT / "Tests/LocalModelsTests/Fixtures/embedding"
CASES = json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8"))
MINILM = json.loads((FIXTURES / "minilm.json").read_text(encoding="utf-8"))
MINILM_Q8 = REPO_ROOT / "models/all-minilm-l6-v2-q8_0.gguf"


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def embed(tollgate_bin, model, texts: list[str], *extra: str) -> list[list[float]]:
    result = run_cli(tollgate_bin, "embed", "--model", str(model), "--threads", "2", *extra, "--", *texts)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(texts), result.stdout[:500]
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("file", ["tiny-uncased-f32.gguf", "small-cased-q8_0.gguf"])
def test_prints_one_vector_per_text_matching_the_reference(tollgate_bin, file):
    model = next(m for m in CASES["models"] if any(f["file"] == file for f in m["files"]))
    fixture = next(f for f in model["files"] if f["file"] == file)
    # Texts a shell passes as they are (no NUL): accents, CJK, code, whitespace runs, an empty one.
    indices = [i for i, t in enumerate(CASES["corpus"]) if "\x00" not in t]
    vectors = embed(tollgate_bin, FIXTURES / file, [CASES["corpus"][i] for i in indices])
    for i, vector in zip(indices, vectors):
        assert len(vector) == model["hidden"]
        assert all(isinstance(x, float) for x in vector)
        assert abs(math.sqrt(sum(x * x for x in vector)) - 1) < 1e-5
        assert cosine(vector, fixture["reference_own_weights"][i]) >= 0.999, CASES["corpus"][i]


def test_tokens_flag_prints_the_token_ids(tollgate_bin):
    model = CASES["models"][0]
    texts = CASES["corpus"][:8]
    result = run_cli(tollgate_bin, "embed", "--model", str(FIXTURES / "tiny-uncased-f32.gguf"), "--tokens", "--",
                     *texts)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == model["token_ids"][:8]


@pytest.mark.skipif(not MINILM_Q8.is_file(), reason="scripts/setup.sh converts all-MiniLM-L6-v2 to models/")
def test_real_minilm_matches_the_reference(tollgate_bin):
    vectors = embed(tollgate_bin, MINILM_Q8, MINILM["sentences"])
    for vector, reference, sentence in zip(vectors, MINILM["reference"], MINILM["sentences"]):
        assert len(vector) == 384
        assert cosine(vector, reference) >= 0.99, sentence


@pytest.mark.parametrize(
    "model, message",
    [
        (FIXTURES / "broken-missing-tensor.gguf", "blk.1.ffn_down.weight"),
        (REPO_ROOT / "Tests/LocalModelsTests/Fixtures/transformer/models/llama-gqa-q4_k_s.gguf", "not bert"),
        (REPO_ROOT / "README.md", "GGUF"),
        (REPO_ROOT / "models/does-not-exist.gguf", "cannot open"),
    ],
)
def test_a_bad_model_fails_with_a_message(tollgate_bin, model, message):
    result = run_cli(tollgate_bin, "embed", "--model", str(model), "hello")
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""


def test_no_text_is_a_usage_error(tollgate_bin):
    result = run_cli(tollgate_bin, "embed", "--model", str(FIXTURES / "tiny-uncased-f32.gguf"))
    assert result.returncode != 0
    assert "<texts>" in result.stderr
