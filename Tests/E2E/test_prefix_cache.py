"""The prefix-aware response cache through the real binary, on a committed local model: a
deterministic request that a cached completion already holds (the same prompt with a smaller
``max_tokens``, or the prompt plus the start of the completion) is answered from the cache with
``Cache-Status: ...; hit; detail=prefix`` and no engine work, and the answer is what the engine
itself says for that request. Sampling that is not deterministic never gets one.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from harness import (
    REPO_ROOT,
    cache_status,
    completion_text_from_events,
    chat_text_from_events,
    metric_sum,
    parse_metrics,
    parse_sse,
    route_toml,
    toml_table,
)

MODELS = REPO_ROOT / "Tests" / "LocalModelsTests" / "Fixtures" / "transformer" / "models"
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
PROMPT = "Once upon a time, in a land far away,"


def policies() -> str:
    backend = toml_table("[backends.local-qwen]", {
        "type": "gguf", "file": str(MODELS / "qwen2-q8_0.gguf"), "threads": 1, "context_size": 1024})
    return "\n".join([
        backend,
        route_toml("qwen", kinds=["chat", "completion"], models=["qwen"], backends=["local-qwen"]),
        route_toml("qwen-off", kinds=["chat", "completion"], models=["qwen-off"], backends=["local-qwen"],
                   cache={"prefix": False}),
    ])


@pytest.fixture(scope="module")
def gw(request, tmp_path_factory, tollgate_bin):
    from harness import Gateway

    workdir = tmp_path_factory.mktemp("prefix_cache")
    gateway = Gateway(tollgate_bin, workdir, name="prefix_cache", policies={"10-local.toml": policies()})
    request.addfinalizer(gateway.close)
    gateway.start()
    return gateway


def post(gw, path: str, body: dict, key: str, **headers: str) -> httpx.Response:
    response = httpx.post(gw.url + path, json=body, timeout=120,
                          headers={"Authorization": f"Bearer {key}", **headers})
    assert response.status_code == 200, response.text[:400]
    return response


def engine_prompt_tokens(gw) -> float:
    samples = parse_metrics(gw.admin("GET", "/metrics").text)
    return metric_sum(samples, lambda n, l: n.startswith("tollgate_llm_prompt_tokens_total"))


def completion(prompt: str, max_tokens: int, **extra) -> dict:
    return {"model": "qwen", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, **extra}


def is_prefix_hit(response: httpx.Response) -> bool:
    status = cache_status(response)
    return status.hit and status.params.get("detail") == "prefix"


def test_a_smaller_max_tokens_is_cut_from_the_cached_completion(gw):
    key = "prefix-cut"
    full = post(gw, COMPLETIONS, completion(PROMPT, 16), key)
    assert cache_status(full).fwd == "miss"
    text = full.json()["choices"][0]["text"]

    before = engine_prompt_tokens(gw)
    cut = post(gw, COMPLETIONS, completion(PROMPT, 5), key)
    assert is_prefix_hit(cut), cut.headers.get("cache-status")
    assert engine_prompt_tokens(gw) == before, "a prefix hit does no engine work"
    body = cut.json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 5
    assert text.startswith(body["choices"][0]["text"])
    # What the engine itself says for that request.
    fresh = post(gw, COMPLETIONS, completion(PROMPT, 5), key, **{"Cache-Control": "no-cache"})
    assert not is_prefix_hit(fresh)
    assert fresh.json()["choices"][0]["text"] == body["choices"][0]["text"]

    # The derived answer is an entry of its own now: the repeat is an exact hit.
    again = post(gw, COMPLETIONS, completion(PROMPT, 5), key)
    assert cache_status(again).hit and cache_status(again).params.get("detail") is None

    # Another tenant sees none of it; a route that turns it off neither.
    other = post(gw, COMPLETIONS, completion(PROMPT, 4), "prefix-cut-other")
    assert cache_status(other).fwd == "miss"
    post(gw, COMPLETIONS, {**completion(PROMPT, 16), "model": "qwen-off"}, key)
    off = post(gw, COMPLETIONS, {**completion(PROMPT, 3), "model": "qwen-off"}, key)
    assert cache_status(off).fwd == "miss"


def test_a_prompt_that_continues_the_completion_gets_the_rest(gw):
    key = "prefix-continue"
    full = post(gw, COMPLETIONS, completion(PROMPT, 16, logprobs=0), key)
    tokens = full.json()["choices"][0]["logprobs"]["tokens"]
    assert len(tokens) == 16
    hits = 0
    for held in range(1, 9):
        prefix = "".join(tokens[:held])
        body = completion(PROMPT + prefix, 16 - held)
        before = engine_prompt_tokens(gw)
        answer = post(gw, COMPLETIONS, body, key)
        fresh = post(gw, COMPLETIONS, body, key, **{"Cache-Control": "no-cache"})
        # Whether the text re-tokenises to the generated tokens decides; when it does, the cache answers.
        if is_prefix_hit(answer):
            hits += 1
            assert engine_prompt_tokens(gw) > before  # only the fresh request ran
            assert answer.json()["choices"][0]["text"] == "".join(tokens[held:])
            assert answer.json()["choices"][0]["text"] == fresh.json()["choices"][0]["text"]
            assert answer.json()["choices"][0]["finish_reason"] == "length"
    assert hits >= 1, "no continuation of the completion was recognised"


def test_a_streamed_prefix_hit_replays_as_events(gw):
    key = "prefix-stream"
    full = post(gw, COMPLETIONS, completion(PROMPT, 12), key)
    with httpx.stream("POST", gw.url + COMPLETIONS, json=completion(PROMPT, 6, stream=True), timeout=60,
                      headers={"Authorization": f"Bearer {key}"}) as response:
        assert response.status_code == 200
        assert is_prefix_hit(response)
        events = parse_sse(response.read().decode())
    assert events[-1] == "[DONE]"
    payloads = [json.loads(e) for e in events[:-1]]
    assert payloads[-1]["choices"][0]["finish_reason"] == "length"
    assert full.json()["choices"][0]["text"].startswith(completion_text_from_events(events))


def test_a_chat_that_continues_the_assistants_answer(gw):
    key = "prefix-chat"
    messages = [{"role": "system", "content": "You are a test."}, {"role": "user", "content": "Tell a story."}]
    body = {"model": "qwen", "messages": messages, "max_tokens": 16, "temperature": 0, "logprobs": True}
    full = post(gw, CHAT, body, key)
    content = full.json()["choices"][0]["logprobs"]["content"]
    hits, last = 0, None
    for held in range(1, 9):
        prefill = "".join(t["token"] for t in content[:held])
        continued = {"model": "qwen", "temperature": 0, "max_tokens": 16 - held,
                     "messages": messages + [{"role": "assistant", "content": prefill}]}
        answer = post(gw, CHAT, continued, key)
        if is_prefix_hit(answer):
            hits += 1
            fresh = post(gw, CHAT, continued, key, **{"Cache-Control": "no-cache"})
            text = answer.json()["choices"][0]["message"]["content"]
            assert text == fresh.json()["choices"][0]["message"]["content"]
            assert text == "".join(t["token"] for t in content[held:])
            last = (continued, text)
    assert hits >= 1, "no continuation of the assistant's answer was recognised"
    # The same answer as an SSE stream.
    continued, text = last
    with httpx.stream("POST", gw.url + CHAT, json={**continued, "stream": True}, timeout=60,
                      headers={"Authorization": f"Bearer {key}"}) as response:
        assert cache_status(response).hit
        assert chat_text_from_events(parse_sse(response.read().decode())) == text


def test_sampling_that_is_not_deterministic_never_gets_a_prefix_hit(gw):
    key = "prefix-random"
    sampled = {"model": "qwen", "prompt": PROMPT, "max_tokens": 12, "temperature": 0.9}
    post(gw, COMPLETIONS, sampled, key)
    assert cache_status(post(gw, COMPLETIONS, {**sampled, "max_tokens": 4}, key)).fwd == "miss"

    # A fixed seed repeats itself from the start, so a smaller limit is cut from it ...
    seeded = {**sampled, "seed": 7}
    full = post(gw, COMPLETIONS, seeded, key)
    cut = post(gw, COMPLETIONS, {**seeded, "max_tokens": 4}, key)
    assert is_prefix_hit(cut)
    fresh = post(gw, COMPLETIONS, {**seeded, "max_tokens": 4}, key, **{"Cache-Control": "no-cache"})
    assert cut.json()["choices"][0]["text"] == fresh.json()["choices"][0]["text"]
    # ... but a continuation would need the generator's later draws: not from the cache.
    text = full.json()["choices"][0]["text"]
    continued = post(gw, COMPLETIONS, {**seeded, "prompt": PROMPT + text[:3], "max_tokens": 4}, key)
    assert not is_prefix_hit(continued)


def test_a_purge_forgets_the_completions_too(gw):
    key = "prefix-purge"
    post(gw, COMPLETIONS, completion(PROMPT + " purge", 10), key)
    assert gw.admin("POST", "/admin/cache/purge", {"model": "qwen"}).status_code == 200
    after = post(gw, COMPLETIONS, completion(PROMPT + " purge", 3), key)
    assert cache_status(after).fwd == "miss"
