"""The exact response cache, seen from a client: hits, keys, scopes, directives, streams,
coalescing, and what is never stored."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Callable

import httpx
import pytest

import fake_upstream as fu
from harness import (
    StreamResult,
    assert_openai_error,
    cache_status,
    chat_body,
    chat_text_from_events,
    completion_text_from_events,
    sse_json,
    stream_post,
    unique,
)

CHAT = "/v1/chat/completions"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def parallel(n: int, fn: Callable[[int, httpx.Client], Any], timeout: float = 30) -> list[Any]:
    """Run ``fn(i, client)`` on n threads released together; results in index order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            try:
                barrier.wait(10)
                results[i] = fn(i, client)
            except Exception as error:  # noqa: BLE001 - reported by the caller's assertions
                results[i] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 5)
    assert not any(t.is_alive() for t in threads), "a concurrent request never finished"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"concurrent requests failed: {errors!r}"
    return results


def upstream_calls(fake, marker: str, path: str = CHAT) -> int:
    return fake.count(path, contains=marker)


# ------------------------------------------------------------------ hits


def test_second_identical_request_is_a_hit_and_never_reaches_upstream(gateway, fake):
    marker = unique("hit")
    body = chat_body(marker)
    first = gateway.chat(body)
    assert first.status_code == 200, first.text
    status1 = cache_status(first)
    assert status1.fwd == "miss" and status1.stored, f"first request should be a stored miss, got {status1}"
    assert HEX64.match(status1.key or ""), f"Cache-Status should carry key=\"<64 hex>\": {status1}"
    assert first.headers.get("x-tollgate-cache-key") == status1.key
    assert first.headers.get("x-request-id"), "every response carries x-request-id"

    second = gateway.chat(body)
    assert second.status_code == 200, second.text
    status2 = cache_status(second)
    assert status2.hit, f"second identical request should be a hit, got Cache-Status {status2}"
    assert "age" in second.headers, "a hit must carry an Age header"
    assert second.headers["age"].isdigit() and int(second.headers["age"]) < 60
    assert status2.ttl is not None and 0 < status2.ttl <= 3600, f"hit should report ttl, got {status2}"
    assert status2.key == status1.key
    assert second.json() == first.json(), "a hit returns the stored body (same id, same text)"
    assert upstream_calls(fake, marker) == 1, "the hit must not reach the upstream"
    assert second.headers.get("x-request-id") != first.headers.get("x-request-id")


def test_completions_and_embeddings_hit_too(gateway, fake):
    marker = unique("cmpl")
    body = {"model": "fake-instruct", "prompt": f"complete {marker}", "max_tokens": 30}
    first = gateway.post("/v1/completions", body)
    second = gateway.post("/v1/completions", body)
    assert first.status_code == second.status_code == 200
    assert cache_status(second).hit, cache_status(second)
    assert second.json()["choices"][0]["text"] == fu.expected_completion_text(body["prompt"], 30)
    assert upstream_calls(fake, marker, "/v1/completions") == 1

    emb = {"model": "fake-embed", "input": [f"embed {marker}"], "encoding_format": "float"}
    first = gateway.post("/v1/embeddings", emb)
    second = gateway.post("/v1/embeddings", emb)
    assert first.status_code == second.status_code == 200
    assert cache_status(second).hit, cache_status(second)
    assert second.json()["data"][0]["embedding"] == fu.embedding_vector(emb["input"][0])
    assert upstream_calls(fake, marker, "/v1/embeddings") == 1


# ------------------------------------------------------------------ canonical key


def _raw(marker: str, template: str) -> bytes:
    return template.replace("MARKER", marker).encode()


BASE = '{"model":"fake-chat","messages":[{"role":"user","content":"hi MARKER"}],"temperature":1.0}'
EQUIVALENT = {
    "integer-number": '{"model":"fake-chat","messages":[{"role":"user","content":"hi MARKER"}],"temperature":1}',
    "exponent-number": '{"model":"fake-chat","messages":[{"role":"user","content":"hi MARKER"}],"temperature":1e0}',
    "key-order": '{"temperature":1.0,"messages":[{"content":"hi MARKER","role":"user"}],"model":"fake-chat"}',
    "whitespace": '{\n  "model" : "fake-chat",\n  "messages" : [ { "role" : "user", "content" : "hi MARKER" } ],\n'
                  '  "temperature" : 1.0\n}',
    "user-field": '{"model":"fake-chat","messages":[{"role":"user","content":"hi MARKER"}],"temperature":1.0,'
                  '"user":"alice"}',
    "explicit-stream-false": '{"model":"fake-chat","stream":false,"messages":[{"role":"user","content":"hi MARKER"}],'
                             '"temperature":1.0}',
    "defaults-n-penalties": '{"model":"fake-chat","messages":[{"role":"user","content":"hi MARKER"}],"temperature":1.0,'
                            '"n":1,"presence_penalty":0,"frequency_penalty":0,"top_p":1}',
    "store-and-metadata": '{"model":"fake-chat","messages":[{"role":"user","content":"hi MARKER"}],"temperature":1.0,'
                          '"store":false,"metadata":{"trace":"abc"}}',
    "default-temperature-omitted": '{"model":"fake-chat","messages":[{"role":"user","content":"hi MARKER"}]}',
}


@pytest.mark.parametrize("variant", sorted(EQUIVALENT))
def test_equivalent_requests_share_one_entry(gateway, fake, variant):
    marker = unique(f"canon-{variant}")
    first = gateway.post(CHAT, content=_raw(marker, BASE))
    assert first.status_code == 200, first.text
    second = gateway.post(CHAT, content=_raw(marker, EQUIVALENT[variant]))
    assert second.status_code == 200, second.text
    assert cache_status(second).hit, (
        f"{variant}: should hit the entry stored by the base request; Cache-Status {cache_status(second)}")
    assert cache_status(second).key == cache_status(first).key
    assert upstream_calls(fake, marker) == 1


def test_stream_options_do_not_change_the_key(gateway, fake):
    marker = unique("streamopts")
    first = gateway.stream(CHAT, chat_body(marker, stream=True))
    second = gateway.stream(CHAT, chat_body(marker, stream=True, stream_options={"include_usage": True}))
    assert first.done and second.done, (first.error, second.error)
    assert second.cache.hit, f"stream_options must not change the key; Cache-Status {second.cache}"
    assert upstream_calls(fake, marker) == 1


@pytest.mark.parametrize("field,a,b", [("temperature", 0.2, 0.3), ("max_tokens", 5, 6), ("seed", 1, 2)])
def test_semantic_difference_misses(gateway, fake, field, a, b):
    marker = unique(f"diff-{field}")
    first = gateway.chat(chat_body(marker, **{field: a}))
    second = gateway.chat(chat_body(marker, **{field: b}))
    assert first.status_code == second.status_code == 200
    assert not cache_status(second).hit, f"{field} {a} vs {b} must be different entries: {cache_status(second)}"
    assert cache_status(second).key != cache_status(first).key
    assert upstream_calls(fake, marker) == 2


def test_different_model_or_message_misses(gateway, fake):
    marker = unique("diff-model")
    gateway.chat(chat_body(marker, model="fake-chat"))
    other_model = gateway.chat(chat_body(marker, model="fake-chat-2"))
    assert not cache_status(other_model).hit
    other_text = gateway.chat(chat_body(marker + "!", model="fake-chat"))
    assert not cache_status(other_text).hit
    assert upstream_calls(fake, marker) == 3


# ------------------------------------------------------------------ scope


def test_tenants_do_not_share_entries(gateway, fake):
    marker = unique("tenant")
    body = chat_body(marker)
    key_a, key_b = unique("key-a"), unique("key-b")
    a1 = gateway.chat(body, api_key=key_a)
    b1 = gateway.chat(body, api_key=key_b)
    assert a1.status_code == b1.status_code == 200
    assert not cache_status(b1).hit, f"tenant B must not read tenant A's entry: {cache_status(b1)}"
    assert cache_status(b1).key != cache_status(a1).key, "tenant scope must be part of the key"
    anonymous = gateway.chat(body, api_key=None)
    assert anonymous.status_code == 200 and not cache_status(anonymous).hit
    assert upstream_calls(fake, marker) == 3
    a2 = gateway.chat(body, api_key=key_a)
    b2 = gateway.chat(body, api_key=key_b)
    assert cache_status(a2).hit and cache_status(b2).hit
    assert a2.json()["id"] == a1.json()["id"] and b2.json()["id"] == b1.json()["id"]
    assert upstream_calls(fake, marker) == 3


# ------------------------------------------------------------------ directives


def test_no_store_is_not_stored(gateway, fake):
    marker = unique("nostore")
    body = chat_body(marker)
    first = gateway.chat(body, headers={"Cache-Control": "no-store"})
    assert first.status_code == 200
    status = cache_status(first)
    assert status.fwd == "request" and not status.stored, f"no-store: want fwd=request and no 'stored': {status}"
    second = gateway.chat(body)
    assert not cache_status(second).hit, "nothing may have been stored under no-store"
    assert upstream_calls(fake, marker) == 2
    assert cache_status(gateway.chat(body)).hit, "a normal request afterwards is stored as usual"


def test_no_cache_refreshes_the_entry(gateway, fake):
    marker = unique("nocache")
    body = chat_body(marker)
    first = gateway.chat(body)
    refreshed = gateway.chat(body, headers={"Cache-Control": "no-cache"})
    assert refreshed.status_code == 200
    assert cache_status(refreshed).fwd == "request", f"no-cache: want fwd=request: {cache_status(refreshed)}"
    assert upstream_calls(fake, marker) == 2, "no-cache must go to the upstream"
    assert refreshed.json()["id"] != first.json()["id"]
    third = gateway.chat(body)
    assert cache_status(third).hit
    assert third.json()["id"] == refreshed.json()["id"], "no-cache replaces the stored entry with the fresh answer"


def test_max_age_bounds_acceptable_age(gateway, fake):
    marker = unique("maxage")
    body = chat_body(marker)
    gateway.chat(body)
    time.sleep(2.2)
    strict = gateway.chat(body, headers={"Cache-Control": "max-age=1"})
    assert strict.status_code == 200
    assert not cache_status(strict).hit, f"an entry older than max-age=1 must not be served: {cache_status(strict)}"
    assert upstream_calls(fake, marker) == 2
    lenient = gateway.chat(body, headers={"Cache-Control": "max-age=3600"})
    assert cache_status(lenient).hit
    assert upstream_calls(fake, marker) == 2


def test_route_with_cache_disabled_bypasses(gateway, fake):
    marker = unique("bypass")
    body = chat_body(marker, model="nocache-chat")
    first, second = gateway.chat(body), gateway.chat(body)
    assert first.status_code == second.status_code == 200
    assert cache_status(second).fwd == "bypass", f"cache disabled on the route: want fwd=bypass: {cache_status(second)}"
    assert upstream_calls(fake, marker) == 2


# ------------------------------------------------------------------ streams and the shared entry


def test_stream_after_non_stream_replays_as_sse(gateway, fake):
    marker = unique("json-then-sse")
    gateway.chat(chat_body(marker))
    result = gateway.stream(CHAT, chat_body(marker, stream=True))
    assert result.status == 200 and result.error is None, result.error
    assert result.headers.get("content-type", "").startswith("text/event-stream")
    assert result.cache.hit, f"a streamed request may be answered from a JSON entry: {result.cache}"
    assert result.done, "the replayed stream must end with data: [DONE]"
    assert chat_text_from_events(result.events) == fu.chat_reply_text(chat_body(marker)["messages"])
    events = sse_json(result.events)
    assert all(e.get("object") == "chat.completion.chunk" for e in events)
    assert any(c.get("finish_reason") == "stop" for e in events for c in e.get("choices", []))
    assert upstream_calls(fake, marker) == 1


def test_streamed_hit_replays_the_same_events(gateway, fake):
    marker = unique("sse-replay")
    fake.set_model_behavior("fake-chat", "slow", chunk_delay=0.02)
    miss = gateway.stream(CHAT, chat_body(marker, stream=True))
    hit = gateway.stream(CHAT, chat_body(marker, stream=True))
    assert miss.done and hit.done, (miss.error, hit.error)
    assert miss.cache.fwd == "miss" and hit.cache.hit, (miss.cache, hit.cache)
    assert sse_json(hit.events) == sse_json(miss.events), "a streamed hit replays exactly the stored events"
    assert len(hit.events) == len(miss.events) > 3
    assert upstream_calls(fake, marker) == 1


def test_non_stream_after_stream_returns_assembled_json(gateway, fake):
    marker = unique("sse-then-json")
    body = chat_body(marker, stream=True)
    streamed = gateway.stream(CHAT, body)
    assert streamed.done
    answer = gateway.chat(chat_body(marker))
    assert answer.status_code == 200
    assert cache_status(answer).hit, f"a JSON request may be answered from a streamed entry: {cache_status(answer)}"
    assert answer.headers.get("content-type", "").startswith("application/json")
    payload = answer.json()
    assert payload["object"] == "chat.completion"
    assert payload["choices"][0]["message"]["role"] == "assistant"
    assert payload["choices"][0]["message"]["content"] == chat_text_from_events(streamed.events)
    assert payload["choices"][0]["finish_reason"] == "stop"
    assert upstream_calls(fake, marker) == 1


def test_include_usage_on_replay_follows_the_client(gateway, fake):
    marker = unique("usage-replay")
    gateway.chat(chat_body(marker))
    with_usage = gateway.stream(CHAT, chat_body(marker, stream=True, stream_options={"include_usage": True}))
    without = gateway.stream(CHAT, chat_body(marker, stream=True))
    assert with_usage.cache.hit and without.cache.hit
    usage_events = [e for e in sse_json(with_usage.events) if e.get("choices") == [] and e.get("usage")]
    assert usage_events, "include_usage: the replay must end with a choices=[] chunk carrying usage"
    assert usage_events[-1]["usage"]["completion_tokens"] > 0
    assert not [e for e in sse_json(without.events) if e.get("choices") == []], (
        "without include_usage there must be no usage-only chunk")


def test_completion_stream_hit(gateway, fake):
    marker = unique("cmpl-sse")
    body = {"model": "fake-instruct", "prompt": f"continue {marker}"}
    gateway.post("/v1/completions", body)
    result = gateway.stream("/v1/completions", {**body, "stream": True})
    assert result.cache.hit and result.done
    assert completion_text_from_events(result.events) == fu.completion_text(body["prompt"])
    assert upstream_calls(fake, marker, "/v1/completions") == 1


# ------------------------------------------------------------------ coalescing


def test_concurrent_identical_misses_reach_upstream_once(gateway, fake):
    marker = unique("coalesce")
    fake.set_model_behavior("slow-model", "slow", header_delay=1.0)
    body = chat_body(marker, model="slow-model")
    url = gateway.url + CHAT
    headers = gateway.client_headers()

    def call(i: int, client: httpx.Client):
        response = client.post(url, json=body, headers=headers)
        return response.status_code, response.text, cache_status(response)

    results = parallel(10, call)
    assert [r[0] for r in results] == [200] * 10, [r[:2] for r in results]
    assert upstream_calls(fake, marker) == 1, "10 concurrent identical misses must make exactly one upstream call"
    bodies = {json.dumps(json.loads(r[1]), sort_keys=True) for r in results}
    assert len(bodies) == 1, "every coalesced client gets the same body"
    statuses = [r[2] for r in results]
    assert sum(s.collapsed for s in statuses) >= 1, f"some answers must say collapsed: {[str(s) for s in statuses]}"
    leaders = [s for s in statuses if not s.collapsed and not s.hit]
    assert len(leaders) == 1, f"exactly one request leads, the rest are collapsed or hits: {[str(s) for s in statuses]}"


def test_concurrent_identical_streams_fan_out(gateway, fake):
    marker = unique("fanout")
    fake.set_model_behavior("slow-model", "slow", header_delay=0.5, chunk_delay=0.05)
    body = chat_body(marker, model="slow-model", stream=True)
    url = gateway.url + CHAT
    headers = gateway.client_headers()

    results: list[StreamResult] = parallel(6, lambda i, client: stream_post(client, url, body, headers=headers))
    assert all(r.status == 200 and r.done and r.error is None for r in results), [
        (r.status, r.error, r.events[-1:]) for r in results]
    assert upstream_calls(fake, marker) == 1, "concurrent identical streams must make one upstream call"
    first = sse_json(results[0].events)
    for result in results[1:]:
        assert sse_json(result.events) == first, "every fanned-out client sees the same event sequence"
    assert chat_text_from_events(results[0].events) == fu.chat_reply_text(body["messages"])
    assert sum(r.cache.collapsed for r in results) >= 1, [str(r.cache) for r in results]


def test_late_joiner_gets_the_whole_stream_in_progress(gateway, fake):
    marker = unique("late-join")
    fake.set_model_behavior("slow-model", "slow", chunk_delay=0.15)
    body = chat_body(marker, model="slow-model", stream=True)
    leader_result: list[StreamResult] = []

    def lead() -> None:
        with httpx.Client(timeout=20, trust_env=False) as client:
            leader_result.append(gateway.stream(CHAT, body, client=client, timeout=20))

    leader = threading.Thread(target=lead, daemon=True)
    leader.start()
    assert fake.wait_for_count(1, CHAT, contains=marker, timeout=5), "leader never reached the fake"
    time.sleep(0.5)  # a few chunks are out
    with httpx.Client(timeout=20, trust_env=False) as client:
        joiner = gateway.stream(CHAT, body, client=client, timeout=20)
    leader.join(20)
    assert leader_result and leader_result[0].done and joiner.done, (leader_result, joiner.error)
    assert joiner.cache.collapsed or joiner.cache.hit, f"joiner should share the stream: {joiner.cache}"
    assert sse_json(joiner.events) == sse_json(leader_result[0].events), (
        "a client joining a stream in progress gets every event from the start")
    assert upstream_calls(fake, marker) == 1


# ------------------------------------------------------------------ never stored


def test_mid_stream_upstream_death_gives_error_and_stores_nothing(gateway, fake):
    marker = unique("die")
    fake.set_model_behavior("fake-die", "die_mid_stream", die_after_chunks=3)
    body = chat_body(marker, model="fake-die", stream=True)
    broken = gateway.stream(CHAT, body, timeout=15)
    assert broken.error is not None or not broken.done or broken.error_events, (
        "the client must see the stream fail (connection error, no [DONE], or an error event); "
        f"it got a clean stream: {broken.events}")
    assert not (broken.done and not broken.error_events and broken.error is None)
    calls_after_failure = upstream_calls(fake, marker)
    assert calls_after_failure >= 1

    fake.clear_model_behavior("fake-die")
    repeat = gateway.stream(CHAT, body)
    assert repeat.done and repeat.error is None, repeat.error
    assert not repeat.cache.hit, f"an interrupted stream must never be stored: {repeat.cache}"
    assert upstream_calls(fake, marker) == calls_after_failure + 1
    assert chat_text_from_events(repeat.events) == fu.chat_reply_text(body["messages"])


def test_mid_body_upstream_death_non_stream(gateway, fake):
    marker = unique("die-json")
    fake.set_model_behavior("fake-die", "die_mid_stream")
    body = chat_body(marker, model="fake-die")
    try:
        broken = gateway.chat(body)
    except httpx.HTTPError:
        broken = None  # connection error is also an acceptable way to fail
    if broken is not None:
        assert_openai_error(broken, (502, 503, 504), what="upstream died mid-body")
    fake.clear_model_behavior("fake-die")
    before = upstream_calls(fake, marker)
    repeat = gateway.chat(body)
    assert repeat.status_code == 200 and not cache_status(repeat).hit
    assert upstream_calls(fake, marker) == before + 1


@pytest.mark.parametrize("status", [429, 500, 400])
def test_non_2xx_is_not_stored(gateway, fake, status):
    marker = unique(f"err-{status}")
    model = f"fake-flaky-{status}"
    fake.set_model_behavior(model, "fail", status=status)
    body = chat_body(marker, model=model)
    failed = gateway.chat(body)
    assert_openai_error(failed, status, what=f"upstream {status}")
    assert not cache_status(failed).hit
    fake.clear_model_behavior(model)
    before = upstream_calls(fake, marker)
    ok = gateway.chat(body)
    assert ok.status_code == 200, ok.text
    assert not cache_status(ok).hit, f"a {status} must never be stored: {cache_status(ok)}"
    assert upstream_calls(fake, marker) == before + 1
    assert cache_status(gateway.chat(body)).hit
