"""The semantic cache through the real binary: a route that opts in answers a prompt that means
nearly the same as a cached one's from its entry (``Cache-Status: ...; detail=semantic`` and the
similarity in ``x-tollgate-semantic-similarity``), above its threshold and not below it; exact
matches win; other tenants, other sampling settings and other routes never share; a purge forgets.

Prompts are embedded by the shipped all-MiniLM-L6-v2 (scripts/setup.sh converts it); answers come
from the fake upstream, which counts the calls.
"""

from __future__ import annotations

import pytest

from harness import REPO_ROOT, backend_toml, cache_status, route_toml, toml_table, unique

MINILM = REPO_ROOT / "models" / "all-minilm-l6-v2-q8_0.gguf"
CHAT = "/v1/chat/completions"
Q_RESET = "How do I reset my password?"
Q_RESET_2 = "How can I reset my password?"
Q_OTHER = "What is the capital of France?"

pytestmark = pytest.mark.skipif(not MINILM.exists(), reason="run scripts/setup.sh (it converts all-MiniLM-L6-v2)")


def policies(fake_url: str, threshold: float) -> str:
    return "\n".join([
        backend_toml("fake", fake_url),
        toml_table("[backends.minilm]", {"type": "gguf", "file": str(MINILM), "threads": 1}),
        route_toml("semantic", kinds=["chat", "completion"], models=["sem-*"], backends=["fake"],
                   cache={"semantic": {"encoder": "minilm", "threshold": threshold}}),
        route_toml("plain", kinds=["chat"], models=["plain-*"], backends=["fake"]),
        route_toml("embed", kinds=["embedding"], models=["minilm"], backends=["minilm"]),
    ])


def cosine(a, b) -> float:
    return sum(x * y for x, y in zip(a, b)) / (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5


def ask(gw, question: str, marker: str, *, model: str = "sem-a", key: str = "sem-tenant", **extra):
    body = {"model": model, "messages": [{"role": "system", "content": f"support bot {marker}"},
                                         {"role": "user", "content": question}], **extra}
    response = gw.post(CHAT, body, api_key=key)
    assert response.status_code == 200, response.text[:300]
    return response


def set_threshold(gw, fake, threshold: float) -> None:
    gw.write_policy("10-semantic.toml", policies(fake.base_url, threshold))
    assert gw.admin("POST", "/admin/policies/reload").status_code == 200


def test_similar_prompts_share_an_answer_above_the_threshold_and_not_below(make_gateway, fake):
    gw = make_gateway(policies={"10-semantic.toml": policies(fake.base_url, 0.999)}, fakes={"a": fake})
    vectors = [item["embedding"] for item in gw.post("/v1/embeddings", {
        "model": "minilm", "input": [Q_RESET, Q_RESET_2, Q_OTHER], "encoding_format": "float"}).json()["data"]]
    close, far = cosine(vectors[0], vectors[1]), cosine(vectors[0], vectors[2])
    assert far < close < 0.999, (close, far)
    set_threshold(gw, fake, round(close - 0.02, 4))

    marker = unique("sem")
    first = ask(gw, Q_RESET, marker)
    assert cache_status(first).fwd == "miss"
    calls = fake.count(CHAT, contains=marker)

    # A rephrasing is answered from the first answer's entry, with no upstream call.
    similar = ask(gw, Q_RESET_2, marker)
    status = cache_status(similar)
    assert status.hit and status.params.get("detail") == "semantic", status
    assert abs(float(similar.headers["x-tollgate-semantic-similarity"]) - close) < 0.01
    assert similar.json()["choices"] == first.json()["choices"]
    assert fake.count(CHAT, contains=marker) == calls

    # An unrelated question is a miss; so are other sampling settings, another tenant, another route.
    assert cache_status(ask(gw, Q_OTHER, marker)).fwd == "miss"
    assert cache_status(ask(gw, Q_RESET_2, marker, temperature=0.3)).fwd == "miss"
    assert cache_status(ask(gw, Q_RESET_2, marker, key="sem-other-tenant")).fwd == "miss"
    ask(gw, Q_RESET, marker, model="plain-a")
    assert cache_status(ask(gw, Q_RESET_2, marker, model="plain-a")).fwd == "miss"
    # The exact prompt again is an exact hit, not a semantic one.
    exact = cache_status(ask(gw, Q_RESET, marker))
    assert exact.hit and exact.params.get("detail") is None

    # Above the similarity of the two, the rephrasing goes to the upstream.
    set_threshold(gw, fake, round(min(1.0, close + 0.02), 4))
    before = fake.count(CHAT, contains=marker)
    assert cache_status(ask(gw, Q_RESET_2, marker)).fwd == "miss"
    assert fake.count(CHAT, contains=marker) == before + 1


def test_a_purge_forgets_the_embeddings_with_the_entries(make_gateway, fake):
    gw = make_gateway(policies={"10-semantic.toml": policies(fake.base_url, 0.8)}, fakes={"a": fake})
    marker = unique("sem-purge")
    ask(gw, Q_RESET, marker)
    assert cache_status(ask(gw, Q_RESET_2, marker)).params.get("detail") == "semantic"
    assert gw.admin("POST", "/admin/cache/purge", {"route": "semantic"}).json()["purged"] >= 1
    assert cache_status(ask(gw, Q_RESET_2, marker)).fwd == "miss"


def test_a_semantic_cache_on_a_generative_model_is_refused_by_check_config(make_gateway, fake, tollgate_bin, tmp_path):
    import subprocess

    llm = REPO_ROOT / "Tests" / "LocalModelsTests" / "Fixtures" / "transformer" / "models" / "qwen2-q8_0.gguf"
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    (policy_dir / "p.toml").write_text("\n".join([
        backend_toml("fake", fake.base_url),
        toml_table("[backends.qwen]", {"type": "gguf", "file": str(llm), "threads": 1}),
        route_toml("semantic", kinds=["chat"], models=["*"], backends=["fake"],
                   cache={"semantic": {"encoder": "qwen"}}),
    ]))
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\npolicies_dir = "{policy_dir}"\n')
    result = subprocess.run([str(tollgate_bin), "check-config", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "semantic cache needs an encoder" in result.stdout + result.stderr
