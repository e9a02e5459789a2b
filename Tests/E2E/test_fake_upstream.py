"""Self-tests of the fake upstream, talking to it directly (no gateway involved)."""

from __future__ import annotations

import base64
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

import fake_upstream as fu
from harness import chat_text_from_events, completion_text_from_events, parse_sse, raw_exchange, stream_post

HERE = Path(__file__).resolve().parent
AUTH = {"Authorization": "Bearer backend-secret-key"}


@pytest.fixture
def http():
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def sdk(fake):
    return openai.OpenAI(base_url=fake.base_url, api_key="backend-secret-key", max_retries=0, timeout=10,
                         http_client=httpx.Client(trust_env=False, timeout=10))


MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "what is two plus two"}]


# ------------------------------------------------------------------ content and bookkeeping


def test_chat_json_is_deterministic_and_ids_are_per_call(fake, http):
    body = {"model": "fake-chat", "messages": MESSAGES}
    first = http.post(fake.base_url + "/chat/completions", json=body, headers=AUTH)
    second = http.post(fake.base_url + "/chat/completions", json=body, headers=AUTH)
    assert first.status_code == second.status_code == 200
    a, b = first.json(), second.json()
    expected = fu.chat_reply_text(MESSAGES)
    assert expected.endswith("reply to: what is two plus two")
    assert a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"] == expected
    assert a["object"] == "chat.completion" and a["model"] == "fake-chat"
    assert a["id"] != b["id"], "every upstream call gets its own id, so replays are recognisable"
    assert a["id"].startswith("chatcmpl-") and isinstance(a["created"], int)
    assert a["usage"]["completion_tokens"] == len(fu.split_chunks(expected))
    assert a["usage"]["total_tokens"] == a["usage"]["prompt_tokens"] + a["usage"]["completion_tokens"]
    assert first.headers["x-fake-upstream"] == "a"
    assert fake.count("/v1/chat/completions") == 2
    last = fake.last_request("/v1/chat/completions")
    assert last is not None and last.headers["authorization"] == "Bearer backend-secret-key"
    assert last.json == body


def test_max_tokens_cuts_the_reply(fake, http):
    body = {"model": "fake-chat", "messages": MESSAGES, "max_tokens": 2}
    answer = http.post(fake.base_url + "/chat/completions", json=body).json()
    assert answer["choices"][0]["message"]["content"] == fu.expected_chat_text(MESSAGES, 2)
    assert answer["choices"][0]["finish_reason"] == "length"


def test_chat_stream_is_chunked_sse_with_usage(fake, http):
    body = {"model": "fake-chat", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    result = stream_post(http, fake.base_url + "/chat/completions", body)
    assert result.error is None and result.status == 200
    assert result.headers["transfer-encoding"] == "chunked"
    assert result.headers["content-type"].startswith("text/event-stream")
    assert result.done, "stream must end with data: [DONE]"
    assert chat_text_from_events(result.events) == fu.chat_reply_text(MESSAGES)
    events = [json.loads(e) for e in result.events[:-1]]
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert len({e["id"] for e in events}) == 1


def test_chat_stream_without_include_usage_has_no_usage_chunk(fake, http):
    body = {"model": "fake-chat", "messages": MESSAGES, "stream": True}
    result = stream_post(http, fake.base_url + "/chat/completions", body)
    events = [json.loads(e) for e in result.events[:-1]]
    assert all("usage" not in e for e in events)
    assert all(e["choices"] for e in events)


def test_completions_json_and_stream(fake, http):
    body = {"model": "fake-instruct", "prompt": "Say this is a test"}
    answer = http.post(fake.base_url + "/completions", json=body).json()
    assert answer["object"] == "text_completion"
    assert answer["choices"][0]["text"] == fu.completion_text("Say this is a test")
    result = stream_post(http, fake.base_url + "/completions", {**body, "stream": True})
    assert result.done and completion_text_from_events(result.events) == fu.completion_text("Say this is a test")


def test_embeddings_float_and_base64_carry_the_same_numbers(fake, http):
    body = {"model": "fake-embed", "input": ["alpha", "beta"]}
    floats = http.post(fake.base_url + "/embeddings", json=body).json()
    b64 = http.post(fake.base_url + "/embeddings", json={**body, "encoding_format": "base64"}).json()
    for index, text in enumerate(["alpha", "beta"]):
        expected = fu.embedding_vector(text)
        assert floats["data"][index]["embedding"] == expected
        raw = base64.b64decode(b64["data"][index]["embedding"])
        assert list(struct.unpack(f"<{len(expected)}f", raw)) == expected
    assert fu.embedding_vector("alpha") != fu.embedding_vector("beta")
    dims = http.post(fake.base_url + "/embeddings", json={**body, "input": "x", "dimensions": 40}).json()
    assert len(dims["data"][0]["embedding"]) == 40


def test_models_and_validation_errors(fake, http):
    models = http.get(fake.base_url + "/models").json()
    assert models["object"] == "list" and {m["id"] for m in models["data"]} >= {"fake-chat", "fake-embed"}
    assert http.get(fake.base_url + "/models/fake-chat").json()["id"] == "fake-chat"
    assert http.get(fake.base_url + "/models/nope").status_code == 404
    bad_json = http.post(fake.base_url + "/chat/completions", content=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "error" in bad_json.json()
    no_model = http.post(fake.base_url + "/chat/completions", json={"messages": MESSAGES})
    assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"
    assert http.post(fake.base_url + "/chat/completions", json={"model": "m", "messages": []}).status_code == 400
    assert http.get(fake.base_url + "/chat/completions").status_code == 405
    assert http.get(fake.url + "/v2/nowhere").status_code == 404


def test_keep_alive_reuses_one_connection(fake, http):
    for _ in range(5):
        assert http.post(fake.base_url + "/chat/completions", json={"model": "m", "messages": MESSAGES}).status_code == 200
    assert fake.stats()["connections_opened"] == 1


def test_chunked_request_body_and_smuggling_shape(fake):
    body = json.dumps({"model": "fake-chat", "messages": MESSAGES}).encode()
    chunked = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/json\r\nConnection: close\r\n\r\n"
               + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
    answer = raw_exchange(fake.port, chunked, timeout=5)
    assert answer.status == 200 and json.loads(answer.body)["choices"]
    both = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 5\r\n\r\n0\r\n\r\n")
    assert raw_exchange(fake.port, both, timeout=5).status == 400


# ------------------------------------------------------------------ the openai SDK against the fake


def test_openai_sdk_against_fake(fake, sdk):
    chat = sdk.chat.completions.create(model="fake-chat", messages=MESSAGES)
    assert chat.choices[0].message.content == fu.chat_reply_text(MESSAGES)
    stream = sdk.chat.completions.create(model="fake-chat", messages=MESSAGES, stream=True,
                                         stream_options={"include_usage": True})
    deltas, usage = [], None
    for chunk in stream:
        if chunk.choices:
            deltas.append(chunk.choices[0].delta.content or "")
        if chunk.usage:
            usage = chunk.usage
    assert "".join(deltas) == fu.chat_reply_text(MESSAGES) and usage is not None
    completion = sdk.completions.create(model="fake-instruct", prompt="abc")
    assert completion.choices[0].text == fu.completion_text("abc")
    embedding = sdk.embeddings.create(model="fake-embed", input="vector me")  # SDK asks for base64
    assert fake.last_request("/v1/embeddings").json["encoding_format"] == "base64"
    assert embedding.data[0].embedding == fu.embedding_vector("vector me")
    assert "fake-chat" in {m.id for m in sdk.models.list()}


@pytest.mark.parametrize("status,exc", [(400, openai.BadRequestError), (404, openai.NotFoundError),
                                        (429, openai.RateLimitError), (500, openai.InternalServerError),
                                        (503, openai.InternalServerError)])
def test_fail_mode_maps_to_sdk_exceptions(fake, sdk, status, exc):
    fake.set_model_behavior("fake-fail", "fail", status=status, error_message=f"boom {status}")
    with pytest.raises(exc) as caught:
        sdk.chat.completions.create(model="fake-fail", messages=MESSAGES)
    assert caught.value.status_code == status
    assert caught.value.body["message"] == f"boom {status}"
    # other models are unaffected
    assert sdk.chat.completions.create(model="fake-chat", messages=MESSAGES).choices


# ------------------------------------------------------------------ behaviours


def test_slow_mode_delays_headers_and_chunks(fake, http):
    fake.set_model_behavior("slow-model", "slow", header_delay=0.3, chunk_delay=0.05)
    body = {"model": "slow-model", "messages": [{"role": "user", "content": "one two three four"}], "stream": True}
    arrivals = []
    start = time.monotonic()
    with http.stream("POST", fake.base_url + "/chat/completions", json=body) as response:
        headers_at = time.monotonic() - start
        for line in response.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic() - start)
    assert headers_at >= 0.28, f"headers came after {headers_at:.3f}s, wanted >= 0.3s"
    assert len(arrivals) >= 6
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(arrivals) - 1) * 0.8, "chunks must be spaced by chunk_delay"
    # the override is per model
    t0 = time.monotonic()
    http.post(fake.base_url + "/chat/completions", json={"model": "fake-chat", "messages": MESSAGES})
    assert time.monotonic() - t0 < 0.25


def test_slow_non_stream_waits_generation_time(fake, http):
    fake.set_behavior("slow", chunk_delay=0.05)
    body = {"model": "fake-chat", "messages": [{"role": "user", "content": "a b c d e f"}]}
    t0 = time.monotonic()
    assert http.post(fake.base_url + "/chat/completions", json=body).status_code == 200
    chunks = len(fu.split_chunks(fu.chat_reply_text(body["messages"])))
    assert time.monotonic() - t0 >= 0.05 * chunks * 0.8


def test_fail_mode_body_headers_and_times(fake, http):
    fake.set_behavior("fail", status=429, retry_after=2, times=2)
    body = {"model": "fake-chat", "messages": MESSAGES}
    for _ in range(2):
        response = http.post(fake.base_url + "/chat/completions", json=body)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["code"] == "rate_limit_exceeded"
    assert http.post(fake.base_url + "/chat/completions", json=body).status_code == 200, "times=2 reverts after two"


def test_hang_mode_never_answers_and_notices_the_client_leaving(fake):
    fake.set_behavior("hang")
    with httpx.Client(timeout=0.5, trust_env=False) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(fake.base_url + "/chat/completions", json={"model": "fake-chat", "messages": MESSAGES})
    record = fake.wait_for_client_close(path="/v1/chat/completions", timeout=3)
    assert record is not None and record.outcome == "hung" and record.client_closed
    assert fake.disconnects == 1


def test_die_mid_stream_closes_without_terminating_chunk(fake, http):
    fake.set_model_behavior("fake-die", "die_mid_stream", die_after_chunks=3)
    body = {"model": "fake-die", "messages": MESSAGES, "stream": True}
    result = stream_post(http, fake.base_url + "/chat/completions", body)
    assert isinstance(result.error, httpx.RemoteProtocolError), f"expected an incomplete chunked body, got {result.error!r}"
    assert len(result.events) == 3 and "[DONE]" not in result.events
    # non-stream: half a body, then close
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(fake.base_url + "/chat/completions", json={**body, "stream": False})
    assert [r.outcome for r in fake.requests(model="fake-die")] == ["died", "died"]


def test_die_mid_stream_with_reset(fake, http):
    fake.set_behavior("die_mid_stream", die_after_chunks=1, abort=True)
    result = stream_post(http, fake.base_url + "/chat/completions", {"model": "m", "messages": MESSAGES, "stream": True})
    assert result.error is not None and "[DONE]" not in result.events


def test_client_disconnect_during_slow_stream_is_recorded(fake):
    fake.set_behavior("slow", chunk_delay=0.2)
    long_text = " ".join(f"w{i}" for i in range(40))
    body = {"model": "fake-chat", "messages": [{"role": "user", "content": long_text}], "stream": True}
    with httpx.Client(timeout=5, trust_env=False) as client:
        result = stream_post(client, fake.base_url + "/chat/completions", body, stop_after_events=2)
    assert len(result.events) >= 2 and not result.done
    t0 = time.monotonic()
    record = fake.wait_for_client_close(contains="w39", timeout=3)
    assert record is not None, "the fake must notice the client closing mid-stream"
    assert record.outcome == "client_closed" and record.chunks_sent < 40
    assert time.monotonic() - t0 < 1.5


def test_control_and_stats_over_http(fake, http):
    answer = http.post(fake.url + "/_control", json={"model": "fake-x", "mode": "fail", "status": 503})
    assert answer.status_code == 200 and answer.json()["models"]["fake-x"]["status"] == 503
    assert http.post(fake.base_url + "/chat/completions", json={"model": "fake-x", "messages": MESSAGES}).status_code == 503
    assert http.post(fake.url + "/_control", json={"mode": "explode"}).status_code == 400
    http.get(fake.base_url + "/models")
    stats = http.get(fake.url + "/_stats").json()
    assert stats["counts"] == {"/v1/chat/completions": 1, "/v1/models": 1}
    assert stats["models"] == {"fake-x": 1} and stats["total"] == 2
    assert stats["last_requests"]["/v1/chat/completions"]["json"]["model"] == "fake-x"
    http.post(fake.url + "/_control", json={"reset": True, "reset_behavior": True})
    stats = http.get(fake.url + "/_stats").json()
    assert stats["total"] == 0 and stats["behavior"]["models"] == {}


def test_concurrent_requests_overlap(fake):
    fake.set_behavior("slow", header_delay=0.4)
    barrier = threading.Barrier(8)
    statuses = []

    def call():
        with httpx.Client(timeout=5, trust_env=False) as client:
            barrier.wait(5)
            statuses.append(client.post(fake.base_url + "/chat/completions",
                                        json={"model": "fake-chat", "messages": MESSAGES}).status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert statuses == [200] * 8
    assert time.monotonic() - t0 < 2.0, "requests must be served concurrently"


def test_standalone_process_prints_port_and_serves():
    process = subprocess.Popen([sys.executable, str(HERE / "fake_upstream.py"), "--port", "0", "--print-port",
                                "--name", "solo", "--model-behavior", 'broken-model={"mode": "fail", "status": 503}'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _readline_with_timeout(process, 10)
        port = int(line.strip())
        with httpx.Client(timeout=5, trust_env=False) as client:
            answer = client.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                                 json={"model": "fake-chat", "messages": MESSAGES})
            assert answer.status_code == 200 and answer.headers["x-fake-upstream"] == "solo"
            broken = client.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                                 json={"model": "broken-model", "messages": MESSAGES})
            assert broken.status_code == 503
            assert client.get(f"http://127.0.0.1:{port}/_stats").json()["total"] == 2
    finally:
        process.terminate()
        try:
            rc = process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert rc == 0, process.stderr.read()


def _readline_with_timeout(process: subprocess.Popen, timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert result and result[0], f"fake_upstream.py printed no port within {timeout}s"
    return result[0]


def test_parse_sse_handles_multiline_and_comments():
    text = ": comment\ndata: {\"a\":1}\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n"
    assert parse_sse(text) == ['{"a":1}', "line1\nline2", "[DONE]"]


def test_bad_request_line_gets_400(fake):
    answer = raw_exchange(fake.port, b"GARBAGE\r\n\r\n", timeout=5)
    assert answer.status == 400
    sock = socket.create_connection(("127.0.0.1", fake.port), timeout=5)
    sock.close()  # a connection that sends nothing must not disturb the server
    assert httpx.get(fake.base_url + "/models", timeout=5).status_code == 200
