"""Local GGUF language models through the real binary: the ``openai`` SDK on chat and
completions, streaming, seeds, stops, concurrency, cancellation, the bounded engine queue,
a corrupt model file, metrics, and the ``tokenize`` / ``generate`` commands.

Models and expected outputs are the committed reference fixtures in
Tests/LocalModelsTests/Fixtures/transformer/models (random weights, written by
scripts/transformer_fixtures.py; token ids and greedy continuations from llama.cpp).
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from harness import (
    CLIENT_KEY,
    REPO_ROOT,
    assert_openai_error,
    cache_status,
    chat_text_from_events,
    completion_text_from_events,
    metric_sum,
    parse_metrics,
    route_toml,
    run_cli,
    sse_json,
    toml_table,
    wait_until,
)

MODELS = REPO_ROOT / "Tests" / "LocalModelsTests" / "Fixtures" / "transformer" / "models"
MANIFEST = json.loads((MODELS / "manifest.json").read_text())
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
NO_CACHE = {"Cache-Control": "no-cache"}


def fixture(file: str) -> dict:
    return next(model for model in MANIFEST["models"] if model["file"] == file)


def gguf_backend(name: str, path: Path, **options) -> str:
    values = {"type": "gguf", "file": str(path), "threads": 1}
    values.update(options)
    return toml_table(f"[backends.{name}]", values)


def local_route(name: str, models: list[str], backend: str) -> str:
    return route_toml(name, kinds=["chat", "completion"], models=models, backends=[backend])


def policies(tmp: Path) -> str:
    broken = tmp / "broken.gguf"
    data = (MODELS / "qwen2-q8_0.gguf").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    return "\n".join([
        gguf_backend("local-qwen", MODELS / "qwen2-q8_0.gguf", context_size=4096),
        gguf_backend("local-llama", MODELS / "llama-mha-f32.gguf", kv_cache_type="f32", context_size=64),
        gguf_backend("local-broken", broken),
        local_route("qwen", ["qwen"], "local-qwen"),
        local_route("llama", ["llama"], "local-llama"),
        local_route("broken", ["broken"], "local-broken"),
    ])


@pytest.fixture(scope="module")
def llm(request, tmp_path_factory, tollgate_bin):
    from harness import Gateway

    workdir = tmp_path_factory.mktemp("local_llm")
    gateway = Gateway(tollgate_bin, workdir, name="local_llm", policies={"10-local.toml": policies(workdir)})
    request.addfinalizer(gateway.close)
    gateway.start()
    return gateway


@pytest.fixture(scope="module")
def sdk(llm):
    return llm.openai(CLIENT_KEY, timeout=120)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You are a test."}, {"role": "user", "content": text}]


# ------------------------------------------------------------------ the openai SDK


def test_chat_and_completion_through_the_sdk(sdk):
    chat = sdk.chat.completions.create(model="qwen", messages=user("hello there"), max_tokens=8, temperature=0)
    choice = chat.choices[0]
    assert isinstance(choice.message.content, str) and choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert chat.usage.prompt_tokens > 5 and 1 <= chat.usage.completion_tokens <= 8
    assert chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens
    assert chat.model == "qwen" and chat.id.startswith("chatcmpl-")

    reference = fixture("llama-mha-f32.gguf")["prompts"][0]
    completion = sdk.completions.create(model="llama", prompt=reference["text"], max_tokens=6, temperature=0,
                                        extra_body={"ignore_eos": True})
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 6
    # The prompt is tokenised as llama.cpp does (BOS included).
    assert completion.usage.prompt_tokens == len(reference["tokens"])


def test_streaming_is_token_by_token_and_equals_the_json_answer(llm, sdk):
    body = {"model": "qwen", "messages": user("stream me"), "max_tokens": 12, "temperature": 0,
            "stream": True, "stream_options": {"include_usage": True}}
    result = llm.stream(CHAT, body, timeout=120)
    assert result.status == 200 and result.done, result.raw[:500]
    chunks = sse_json(result.events[:-1])
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) >= 2, "tokens must arrive as separate events"
    assert chunks[-1]["usage"]["completion_tokens"] <= 12 and chunks[-1]["choices"] == []
    streamed = chat_text_from_events(result.events)

    # The same request, not from the cache, as JSON: greedy decoding gives the same text.
    again = llm.chat({**body, "stream": False}, headers=NO_CACHE, timeout=120)
    assert again.status_code == 200, again.text
    assert again.json()["choices"][0]["message"]["content"] == streamed
    # And a repeat of the stream is a cache hit that replays it.
    replay = llm.stream(CHAT, body, timeout=60)
    assert replay.cache.hit and chat_text_from_events(replay.events) == streamed


def test_same_seed_same_text_other_seed_other_text(sdk):
    def sample(seed: int) -> str:
        response = sdk.completions.with_raw_response.create(
            model="qwen", prompt="Tell a story", max_tokens=24, temperature=1.2, seed=seed,
            extra_headers=NO_CACHE, extra_body={"ignore_eos": True})
        return response.parse().choices[0].text

    first = sample(1234)
    assert first == sample(1234)
    assert first != sample(99)


def test_stop_sequence_ends_the_text_before_it(sdk):
    free = sdk.completions.create(model="qwen", prompt="Once upon a time", max_tokens=24, temperature=0,
                                  extra_body={"ignore_eos": True}).choices[0].text
    assert len(free) >= 8, free
    stop = free[len(free) // 2:][:3]
    expected = free[: free.index(stop)]
    stopped = sdk.completions.create(model="qwen", prompt="Once upon a time", max_tokens=24, temperature=0,
                                     stop=[stop], extra_body={"ignore_eos": True}).choices[0]
    assert stopped.text == expected and stopped.finish_reason == "stop"


def test_logprobs_in_the_openai_shape(sdk):
    chat = sdk.chat.completions.create(model="qwen", messages=user("logprobs"), max_tokens=4, temperature=0,
                                       logprobs=True, top_logprobs=3)
    content = chat.choices[0].logprobs.content
    assert 1 <= len(content) <= 4
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[-1].logprob
        assert entry.logprob == pytest.approx(entry.top_logprobs[0].logprob, abs=1e-6), "greedy takes the best"


def test_concurrent_requests_all_complete(sdk):
    def ask(i: int):
        return sdk.chat.completions.create(model="qwen", messages=user(f"request {i}"), max_tokens=6,
                                           temperature=0.7, seed=i)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(ask, range(6)))
    assert all(a.choices[0].finish_reason in ("stop", "length") for a in answers)
    assert len({a.id for a in answers}) == 6


def test_concurrent_streams_are_batched_and_each_says_what_it_says_alone(make_gateway):
    gw = make_gateway(policies={"10-batch.toml": "\n".join([
        gguf_backend("batched", MODELS / "qwen2-q8_0.gguf", context_size=1024, max_batch=4),
        local_route("batched", ["qwen"], "batched"),
    ])})
    bodies = [
        {"model": "qwen", "prompt": "Batch one, greedy", "max_tokens": 300, "temperature": 0},
        {"model": "qwen", "prompt": "Batch two, seeded", "max_tokens": 260, "temperature": 1.1, "seed": 11},
        {"model": "qwen", "messages": user("Batch three, a chat"), "max_tokens": 280, "temperature": 0},
        {"model": "qwen", "prompt": "Batch four, top-p", "max_tokens": 240, "temperature": 0.9, "top_p": 0.9,
         "seed": 12},
    ]
    for body in bodies:
        body.update(stream=True, ignore_eos=True)

    def path(body: dict) -> str:
        return CHAT if "messages" in body else COMPLETIONS

    def text(body: dict, result) -> str:
        assert result.status == 200 and result.done, result.raw[:500]
        return chat_text_from_events(result.events) if "messages" in body else completion_text_from_events(result.events)

    # All four at once: each stream's first text arrives before any of them has finished.
    barrier = threading.Barrier(len(bodies))
    marks: dict[int, tuple[float, float]] = {}

    def together(i: int) -> list[str]:
        events: list[str] = []
        first = None
        with httpx.Client(timeout=120, trust_env=False) as client:
            barrier.wait()
            with client.stream("POST", gw.url + path(bodies[i]), json=bodies[i],
                               headers=gw.client_headers(headers=NO_CACHE)) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    events.append(line[6:])
                    if first is None and events[-1] != "[DONE]":
                        said = chat_text_from_events(events[-1:]) + completion_text_from_events(events[-1:])
                        if said:
                            first = time.monotonic()
        marks[i] = (first or time.monotonic(), time.monotonic())
        return events

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        concurrent_events = list(pool.map(together, range(len(bodies))))
    assert max(first for first, _ in marks.values()) < min(end for _, end in marks.values()), marks

    # The same requests one at a time (not from the cache) give the same texts.
    for body, events in zip(bodies, concurrent_events):
        assert events and events[-1] == "[DONE]"
        together_text = chat_text_from_events(events) if "messages" in body else completion_text_from_events(events)
        alone = gw.stream(path(body), body, headers=NO_CACHE, timeout=120)
        assert text(body, alone) == together_text, body["model"]
        assert len(together_text) > 0


# ------------------------------------------------------------------ cancellation and the queue


def engine_requests(llm, backend: str, result: str) -> float:
    samples = parse_metrics(llm.admin("GET", "/metrics", token=True).text)
    return metric_sum(samples, lambda name, labels: name == "tollgate_llm_requests_total"
                      and labels.get("backend") == backend and labels.get("result") == result)


def long_body(text: str, stream: bool = True) -> dict:
    return {"model": "qwen", "prompt": text, "max_tokens": 3000, "temperature": 0.8, "stream": stream,
            "ignore_eos": True}


def test_client_disconnect_cancels_the_generation(llm):
    failed_before = engine_requests(llm, "local-qwen", "failed")
    completed_before = engine_requests(llm, "local-qwen", "completed")
    with httpx.Client(timeout=30, trust_env=False) as client:
        partial = llm.stream(COMPLETIONS, long_body("cancel me"), client=client, stop_after_events=3)
    assert partial.status == 200 and not partial.done
    wait_until(lambda: engine_requests(llm, "local-qwen", "failed") > failed_before, timeout=20,
               what="the engine to drop the request whose client left")
    assert engine_requests(llm, "local-qwen", "completed") == completed_before
    # The engine is free again.
    quick = llm.post(COMPLETIONS, {"model": "qwen", "prompt": "after", "max_tokens": 2}, timeout=60)
    assert quick.status_code == 200, quick.text


def test_a_full_queue_answers_503_with_retry_after(make_gateway, tmp_path):
    gw = make_gateway(policies={"10-q.toml": "\n".join([
        # One at a time, so the second request waits in the queue instead of joining the batch.
        gguf_backend("busy", MODELS / "qwen2-q8_0.gguf", context_size=4096, max_queue=1, max_batch=1),
        local_route("busy", ["qwen"], "busy"),
    ])})
    stop = threading.Event()
    streams: list = []

    def hold(text: str):
        with httpx.Client(timeout=60, trust_env=False) as client:
            with client.stream("POST", gw.url + COMPLETIONS, json=long_body(text), headers=gw.client_headers()) as r:
                streams.append(r.status_code)
                for _ in r.iter_bytes():
                    if stop.is_set():
                        return

    threads = [threading.Thread(target=hold, args=(f"hold {i}",), daemon=True) for i in range(2)]
    try:
        threads[0].start()
        wait_until(lambda: streams, timeout=30, what="the first long request to start streaming")
        threads[1].start()  # waits in the queue (it holds the only slot)
        time.sleep(1.0)
        refused = gw.post(COMPLETIONS, {"model": "qwen", "prompt": "one too many", "max_tokens": 2}, headers=NO_CACHE)
        error = assert_openai_error(refused, 503, what="a third request with max_queue = 1")
        assert error["code"] == "engine_queue_full", error
        assert refused.headers.get("retry-after") == "1"
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)


# ------------------------------------------------------------------ load errors and bad requests


def test_a_corrupt_model_is_rejected_with_a_clear_message_while_other_routes_serve(llm, tmp_path):
    broken = llm.chat({"model": "broken", "messages": user("hi")})
    error = assert_openai_error(broken, 503, what="a route whose model file is truncated")
    assert error["code"] == "model_unavailable"
    assert "broken.gguf" in error["message"] and "truncated" in error["message"], error["message"]
    assert llm.chat({"model": "qwen", "messages": user("still here"), "max_tokens": 2}).status_code == 200
    assert "language model not loaded" in llm.log_text()

    check = llm.cli("check-config", "--config", str(llm.config_path))
    assert check.returncode != 0
    assert "backends.local-broken.file" in check.stdout + check.stderr


def test_bad_requests_name_the_field(llm):
    cases = [
        ({"model": "qwen", "messages": user("x"), "n": 2}, "n"),
        ({"model": "qwen", "messages": []}, "messages"),
        ({"model": "qwen", "messages": user("x"), "temperature": 5}, "temperature"),
        ({"model": "qwen", "messages": user("x"), "logprobs": True, "top_logprobs": 50}, "top_logprobs"),
    ]
    for body, param in cases:
        error = assert_openai_error(llm.chat(body), 400, what=f"bad {param}")
        assert error["param"] == param, error
    empty = assert_openai_error(llm.post(COMPLETIONS, {"model": "qwen", "prompt": ""}), 400, what="an empty prompt")
    assert empty["param"] == "prompt"
    long_prompt = " ".join(["word"] * 200)
    error = assert_openai_error(llm.post(COMPLETIONS, {"model": "llama", "prompt": long_prompt}), 400,
                                what="a prompt longer than the context")
    assert error["code"] == "context_length_exceeded", error
    # Client errors say nothing about the engine's health: they never open its circuit.
    for _ in range(8):
        assert llm.chat({"model": "qwen", "messages": user("x"), "n": 3}).status_code == 400
    assert llm.chat({"model": "qwen", "messages": user("after the errors"), "max_tokens": 2}).status_code == 200


def test_models_list_and_engine_metrics(llm, sdk):
    ids = {m.id for m in sdk.models.list().data}
    assert {"qwen", "llama"} <= ids
    sdk.chat.completions.create(model="qwen", messages=user("metrics"), max_tokens=3)
    samples = parse_metrics(llm.admin("GET", "/metrics", token=True).text)

    def value(name: str) -> float:
        return metric_sum(samples, lambda n, labels: n == name and labels.get("backend") == "local-qwen")

    assert value("tollgate_llm_completion_tokens_total") >= 3
    assert value("tollgate_llm_prompt_tokens_total") > 0
    assert value("tollgate_llm_time_to_first_token_seconds_count") >= 1
    assert value("tollgate_llm_decode_tokens_per_second") > 0
    assert value("tollgate_llm_perplexity") >= 1
    assert any(n == "tollgate_llm_kv_cache_bytes" for n, _, _ in samples)


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize("file", ["llama-mha-f32.gguf", "qwen2-q8_0.gguf", "llama-gqa-q6_k.gguf"])
def test_tokenize_prints_llama_cpps_ids(tollgate_bin, file):
    for prompt in fixture(file)["prompts"]:
        result = run_cli(tollgate_bin, "tokenize", "--model", str(MODELS / file), prompt["text"])
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == prompt["tokens"], prompt["name"]


def test_generate_json_greedy_matches_llama_cpp(tollgate_bin):
    model = fixture("llama-mha-f32.gguf")
    prompt = next(p for p in model["prompts"] if p.get("greedy_tokens"))
    result = run_cli(tollgate_bin, "generate", "--model", str(MODELS / model["file"]), "--prompt", prompt["text"],
                     "--raw", "--temperature", "0", "--max-tokens", "32", "--kv-cache-type", "f32", "--json",
                     timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["prompt_tokens"] == prompt["tokens"]
    comparable = next((i for i, m in enumerate(prompt["greedy_margins"]) if m < 0.05), 32)
    n = min(comparable, len(out["tokens"]))
    assert n >= 8 and out["tokens"][:n] == prompt["greedy_tokens"][:n]
    assert all(lp <= 0 for lp in out["logprobs"])


def test_generate_streams_text_and_rejects_a_bad_file(tollgate_bin, tmp_path):
    result = run_cli(tollgate_bin, "generate", "--model", str(MODELS / "qwen2-q8_0.gguf"), "--prompt", "hi",
                     "--max-tokens", "5", "--seed", "3", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "generated" in result.stderr
    again = run_cli(tollgate_bin, "generate", "--model", str(MODELS / "qwen2-q8_0.gguf"), "--prompt", "hi",
                    "--max-tokens", "5", "--seed", "3", timeout=120)
    assert again.stdout == result.stdout, "the same seed gives the same text"
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 4)
    failed = run_cli(tollgate_bin, "generate", "--model", str(bad), "--prompt", "hi")
    assert failed.returncode != 0 and "bad.gguf" in failed.stderr


# ------------------------------------------------------------------ the shipped default config


def test_default_config_runs_chat_on_the_model_named_by_the_environment(make_gateway, tmp_path):
    from harness import ADMIN_TOKEN, copy_shipped_config, link_shipped_assets

    config = copy_shipped_config(tmp_path / "default")
    model = MODELS / "qwen2-q8_0.gguf"
    gw = make_gateway(start=False, config_text=config.read_text(), name="default-local",
                      env={"TOLLGATE_ADMIN_TOKEN": ADMIN_TOKEN, "TOLLGATE_LOCAL_MODEL": str(model)})
    for policy in (tmp_path / "default" / "policies").glob("*.toml"):
        gw.write_policy(policy.name, policy.read_text(), atomic=False)
    link_shipped_assets(gw.workdir)
    gw.start()
    sdk = gw.openai(CLIENT_KEY, timeout=120)
    reply = sdk.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=user("hi"), max_tokens=4)
    assert reply.headers.get("x-tollgate-backend") == "local"
    assert reply.parse().usage.completion_tokens <= 4
    assert "qwen2-q8_0" in {m.id for m in sdk.models.list().data}
    # Embeddings fall back to the shipped MiniLM once scripts/setup.sh has converted it (CI runs it).
    reply = gw.post("/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"})
    if (REPO_ROOT / "models" / "all-minilm-l6-v2-q8_0.gguf").exists():
        assert reply.status_code == 200, reply.text[:300]
        assert reply.headers.get("x-tollgate-backend") == "minilm"
        assert len(reply.json()["data"][0]["embedding"]) == 384
    else:
        error = assert_openai_error(reply, 503, what="embeddings")
        assert "all-minilm-l6-v2-q8_0.gguf" in error["message"]


# ------------------------------------------------------------------ prefix KV reuse


def _time_to_first_token(llm, messages, api_key):
    started = time.monotonic()
    first = None
    chunks = []
    body = {"model": "qwen", "messages": messages, "max_tokens": 6, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    with httpx.stream("POST", llm.url + CHAT, json=body, timeout=120,
                      headers={"Authorization": f"Bearer {api_key}", "Cache-Control": "no-store"}) as response:
        assert response.status_code == 200, response.read()[:300]
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.monotonic() - started
            chunks.append(chunk)
    usage = chunks[-1]["usage"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    return first, usage, text


def test_a_growing_conversation_reuses_its_kv_prefix_per_tenant(llm):
    # A long system prompt makes the prefill worth skipping.
    system = {"role": "system", "content": " ".join(f"rule {i}: be brief." for i in range(150))}
    messages = [system, {"role": "user", "content": "first question"}]
    cold_ttft, cold_usage, answer = _time_to_first_token(llm, messages, "tenant-prefix-a")
    assert cold_usage["prompt_tokens_details"]["cached_tokens"] == 0
    cached, ttfts = [], []
    for turn in range(2):
        messages = messages + [{"role": "assistant", "content": answer}, {"role": "user", "content": f"follow-up {turn}"}]
        ttft, usage, answer = _time_to_first_token(llm, messages, "tenant-prefix-a")
        cached.append(usage["prompt_tokens_details"]["cached_tokens"])
        ttfts.append(ttft)
        assert 0 < cached[-1] < usage["prompt_tokens"], usage
    assert cached[1] > cached[0] >= cold_usage["prompt_tokens"] // 16 * 16 - 16, (cached, cold_usage)
    assert max(ttfts) < cold_ttft, f"reused prefixes should answer sooner: cold {cold_ttft:.3f}s, then {ttfts}"

    # Another tenant sends the very same conversation: nothing of tenant A's state is reused.
    _, other, _ = _time_to_first_token(llm, messages, "tenant-prefix-b")
    assert other["prompt_tokens_details"]["cached_tokens"] == 0, other
    samples = parse_metrics(llm.admin("GET", "/metrics").text)
    reused = metric_sum(samples, lambda n, l: n.startswith("tollgate_llm_cached_prompt_tokens_total")
                        and l.get("backend") == "local-qwen")
    assert reused >= sum(cached), (reused, cached)
