"""Embeddings on the embedded encoder through the real binary: the ``openai`` SDK with its
default settings (base64), float and base64 agreeing, batching, the cache, errors, and vectors
that match the reference computed from the same weights.

The model is all-MiniLM-L6-v2 converted by scripts/minilm_gguf.py (scripts/setup.sh does it;
the file is not committed). Its reference vectors are the committed numpy reference in
Tests/LocalModelsTests/Fixtures/embedding/minilm.json.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import math
import struct

import httpx
import pytest

from harness import REPO_ROOT, assert_openai_error, cache_status, metric_sum, parse_metrics, route_toml, toml_table

MINILM = REPO_ROOT / "models" / "all-minilm-l6-v2-q8_0.gguf"
REFERENCE = json.loads((REPO_ROOT / "Tests" / "LocalModelsTests" / "Fixtures" / "embedding" / "minilm.json").read_text())
EMBEDDINGS = "/v1/embeddings"

pytestmark = pytest.mark.skipif(not MINILM.exists(), reason="run scripts/setup.sh (it converts all-MiniLM-L6-v2)")


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


@pytest.fixture(scope="module")
def gw(request, tmp_path_factory, tollgate_bin):
    from harness import Gateway

    policies = "\n".join([
        toml_table("[backends.minilm]", {"type": "gguf", "file": str(MINILM), "threads": 1}),
        route_toml("embed", kinds=["embedding"], models=["minilm"], backends=["minilm"]),
    ])
    workdir = tmp_path_factory.mktemp("embeddings")
    gateway = Gateway(tollgate_bin, workdir, name="embeddings", policies={"10-embed.toml": policies})
    request.addfinalizer(gateway.close)
    gateway.start()
    return gateway


def test_the_sdk_with_default_settings_gets_the_reference_vectors(gw):
    sdk = gw.openai("embed-sdk", timeout=60)
    sentences = REFERENCE["sentences"]
    # The SDK asks for base64 and decodes it itself.
    reply = sdk.embeddings.with_raw_response.create(model="minilm", input=sentences)
    assert cache_status(reply).fwd == "miss"
    result = reply.parse()
    assert [item.index for item in result.data] == list(range(len(sentences)))
    worst = min(cosine(item.embedding, ref) for item, ref in zip(result.data, REFERENCE["reference"]))
    assert worst >= 0.99, f"Q8_0 vectors should match the F32 reference: worst cosine {worst}"
    for item in result.data:
        assert len(item.embedding) == 384
        assert abs(math.sqrt(sum(x * x for x in item.embedding)) - 1) < 1e-3
    assert result.usage.prompt_tokens == sum(len(ids) for ids in REFERENCE["sentence_token_ids"])
    assert result.model == "minilm"
    # The same request again is a cache hit.
    again = sdk.embeddings.with_raw_response.create(model="minilm", input=sentences)
    assert cache_status(again).hit
    assert [item.embedding for item in again.parse().data] == [item.embedding for item in result.data]


def test_float_and_base64_are_the_same_vectors(gw):
    text = "The gateway answers repeats from its cache."
    floats = gw.post(EMBEDDINGS, {"model": "minilm", "input": text, "encoding_format": "float"}).json()
    encoded = gw.post(EMBEDDINGS, {"model": "minilm", "input": [text], "encoding_format": "base64"}).json()
    vector = floats["data"][0]["embedding"]
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = list(struct.unpack(f"<{len(raw) // 4}f", raw))
    assert len(decoded) == 384
    # JSON floats print the shortest text that reads back as the same float32.
    assert [struct.unpack("<f", struct.pack("<f", x))[0] for x in vector] == decoded
    assert floats["object"] == "list" and floats["data"][0]["object"] == "embedding"
    assert floats["usage"]["prompt_tokens"] == floats["usage"]["total_tokens"] > 0


def test_a_batch_equals_its_texts_one_by_one_also_when_requests_run_together(gw):
    texts = [f"sentence number {i} about caching gateways" for i in range(12)]
    batch = gw.post(EMBEDDINGS, {"model": "minilm", "input": texts}, headers={"Cache-Control": "no-store"}).json()
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        singles = list(pool.map(
            lambda t: gw.post(EMBEDDINGS, {"model": "minilm", "input": t}, headers={"Cache-Control": "no-store"}).json(),
            texts))
    for item, single in zip(batch["data"], singles):
        assert cosine(item["embedding"], single["data"][0]["embedding"]) > 0.99999
    samples = parse_metrics(gw.admin("GET", "/metrics").text)
    assert metric_sum(samples, lambda n, l: n == "tollgate_embed_texts_total" and l.get("backend") == "minilm") >= 24


@pytest.mark.parametrize("body, param", [
    ({"model": "minilm"}, "input"),
    ({"model": "minilm", "input": []}, "input"),
    ({"model": "minilm", "input": ""}, "input"),
    ({"model": "minilm", "input": [1, 2, 3]}, "input"),
    ({"model": "minilm", "input": [[1, 2], [3]]}, "input"),
    ({"model": "minilm", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ({"model": "minilm", "input": "x", "dimensions": 128}, "dimensions"),
])
def test_bad_requests_name_the_field(gw, body, param):
    error = assert_openai_error(gw.post(EMBEDDINGS, body), 400, what=json.dumps(body))
    assert error.get("param") == param, error


def test_a_long_text_is_cut_where_sentence_transformers_cuts_it_and_still_embedded(gw):
    long_text = " ".join(["tokens"] * 2000)
    reply = gw.post(EMBEDDINGS, {"model": "minilm", "input": long_text})
    assert reply.status_code == 200, reply.text[:300]
    # all-MiniLM-L6-v2's max_seq_length (its 512 positions are not all used).
    assert reply.json()["usage"]["prompt_tokens"] == 256
