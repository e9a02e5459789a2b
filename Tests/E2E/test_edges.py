"""Hard edges over raw sockets and httpx: limits, malformed input, smuggling shapes, slow and
vanishing clients, the default config, graceful shutdown and the disk tier across restarts."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
import time

import httpx
import pytest

import fake_upstream as fu
from harness import (
    ADMIN_TOKEN,
    CLIENT_KEY,
    RawResponse,
    assert_error_shape,
    assert_openai_error,
    cache_status,
    chat_body,
    copy_shipped_config,
    link_shipped_assets,
    module_gateway,
    raw_exchange,
    read_raw_response,
    sse_json,
    standard_policies,
    unique,
    wait_until,
)

CHAT = "/v1/chat/completions"
MAX_BODY = 64 * 1024
MAX_HEADER = 8 * 1024
REQUEST_TIMEOUT = 2
IDLE_TIMEOUT = 3
SLACK = 4.0


@pytest.fixture(scope="module")
def edge(request, tmp_path_factory, tollgate_bin, fake):
    return module_gateway(request, tmp_path_factory, tollgate_bin, fakes={"a": fake},
                          policies={"10-standard.toml": standard_policies(fake.base_url)},
                          server={"max_body_bytes": MAX_BODY, "max_header_bytes": MAX_HEADER,
                                  "request_timeout_seconds": REQUEST_TIMEOUT,
                                  "idle_timeout_seconds": IDLE_TIMEOUT})


def request_bytes(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                  *, content_length: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {CLIENT_KEY}"]
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if content_length and body is not None:
        all_headers.setdefault("Content-Length", str(len(body)))
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def assert_raw_error(response: RawResponse, status: int, what: str) -> dict:
    assert response.status == status, (
        f"{what}: expected {status}, got {response.status} (closed={response.closed}, error={response.error}, "
        f"body={response.body[:300]!r})")
    assert "json" in response.headers.get("content-type", ""), f"{what}: error must be JSON: {response.headers}"
    return assert_error_shape(json.loads(response.body), what=what)


# ------------------------------------------------------------------ limits and malformed input


def test_body_over_limit_is_413(edge):
    filler = "x" * (MAX_BODY + 1024)
    body = json.dumps(chat_body(unique("big"), padding=filler)).encode()
    response = raw_exchange(edge.port, request_bytes("POST", CHAT, body), timeout=10)
    error = assert_raw_error(response, 413, "body over max_body_bytes (Content-Length)")
    assert error["message"]


def test_chunked_body_over_limit_is_413(edge):
    payload = json.dumps(chat_body(unique("bigchunk"), padding="y" * (MAX_BODY + 1024))).encode()
    chunks = b"".join(f"{len(payload[i:i + 8192]):x}\r\n".encode() + payload[i:i + 8192] + b"\r\n"
                      for i in range(0, len(payload), 8192)) + b"0\r\n\r\n"
    head = request_bytes("POST", CHAT, b"", {"Transfer-Encoding": "chunked"}, content_length=False)
    response = raw_exchange(edge.port, head + chunks, timeout=10)
    assert_raw_error(response, 413, "chunked body over max_body_bytes")


def test_body_just_under_limit_is_accepted(edge):
    body = chat_body(unique("fits"))
    raw = json.dumps(body).encode()
    body["padding"] = "z" * (MAX_BODY - len(raw) - 64)
    response = edge.chat(body)
    assert response.status_code == 200, f"a body under the limit must pass: {response.status_code} {response.text[:200]}"


def test_huge_header_is_431(edge):
    head = request_bytes("POST", CHAT, b"{}", {"X-Huge": "h" * (MAX_HEADER * 2)})
    response = raw_exchange(edge.port, head, timeout=10)
    assert_raw_error(response, 431, "headers over max_header_bytes")


def test_malformed_json_is_400_naming_the_problem(edge):
    response = edge.post(CHAT, content=b'{"model": "fake-chat", "messages": [')
    error = assert_openai_error(response, 400, what="truncated JSON")
    assert "json" in error["message"].lower(), f"the message should say the JSON is malformed: {error}"
    assert error["type"] == "invalid_request_error", error


def test_non_object_json_is_400(edge):
    assert_openai_error(edge.post(CHAT, content=b"[1, 2, 3]"), 400, what="JSON array body")


def test_missing_model_is_400(edge):
    response = edge.chat({"messages": [{"role": "user", "content": "hi"}]})
    error = assert_openai_error(response, 400, what="missing model")
    assert error.get("param") == "model" or "model" in error["message"], error


def test_unknown_path_is_404_json(edge):
    assert_openai_error(edge.post("/v1/nowhere", {"model": "fake-chat"}), 404, what="unknown path")
    assert_openai_error(edge.get("/definitely/not/here"), 404, what="unknown GET path")


def test_wrong_method_is_405_json(edge):
    assert_openai_error(edge.get(CHAT), 405, what="GET on a POST endpoint")
    response = httpx.request("DELETE", edge.url + "/v1/models", timeout=10, trust_env=False)
    assert_openai_error(response, 405, what="DELETE /v1/models")


def test_content_length_with_chunked_is_400(edge):
    body = b'{"model":"fake-chat","messages":[{"role":"user","content":"smuggle"}]}'
    smuggle = request_bytes("POST", CHAT, b"", {"Content-Length": str(len(body)), "Transfer-Encoding": "chunked"},
                            content_length=False) + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    response = raw_exchange(edge.port, smuggle, timeout=10)
    assert_raw_error(response, 400, "Content-Length together with Transfer-Encoding: chunked")


def test_one_structured_access_log_line_per_request(edge):
    marker = unique("accesslog")
    ids = [edge.chat(chat_body(marker)).headers["x-request-id"] for _ in range(2)]

    def lines_for(request_id: str) -> list[dict]:
        found = []
        for line in edge.log_text().splitlines():
            if request_id in line:
                with contextlib.suppress(ValueError):
                    parsed = json.loads(line[line.index("{"):])
                    if isinstance(parsed, dict):
                        found.append(parsed)
        return found

    for request_id, expected_cache in zip(ids, ("miss", "hit")):
        entries = wait_until(lambda: lines_for(request_id), 3, what=f"an access-log line for {request_id}")
        assert len(entries) == 1, f"exactly one access-log line per request, got {entries}"
        values = {str(v) for v in entries[0].values()}
        assert "chat" in values and "200" in values, f"the line names route and status: {entries[0]}"
        assert any(expected_cache in v for v in values), f"the line names the cache result {expected_cache}: {entries[0]}"


def test_health_endpoints(edge):
    assert edge.get("/healthz").status_code == 200
    assert edge.get("/readyz").status_code == 200


# ------------------------------------------------------------------ slow and vanishing clients


def test_slow_client_times_out(edge):
    body = json.dumps(chat_body(unique("slowloris"))).encode()
    head = request_bytes("POST", CHAT, b"", {"Content-Length": str(len(body))}, content_length=False)
    sock = socket.create_connection(("127.0.0.1", edge.port), timeout=10)
    try:
        sock.sendall(head + body[: len(body) // 2])
        start = time.monotonic()
        response = read_raw_response(sock, timeout=REQUEST_TIMEOUT + SLACK + 2)
        elapsed = time.monotonic() - start
    finally:
        sock.close()
    assert response.status == 408 or (response.status is None and response.closed), (
        f"a stalled body should get 408 or a closed connection, got {response}")
    assert elapsed <= REQUEST_TIMEOUT + SLACK, f"request_timeout is {REQUEST_TIMEOUT}s but it took {elapsed:.1f}s"
    if response.status == 408:
        assert_error_shape(json.loads(response.body), what="408")


def test_idle_connection_is_closed(edge):
    sock = socket.create_connection(("127.0.0.1", edge.port), timeout=10)
    try:
        start = time.monotonic()
        response = read_raw_response(sock, timeout=IDLE_TIMEOUT + SLACK + 2)
        elapsed = time.monotonic() - start
    finally:
        sock.close()
    assert response.closed or response.status == 408, f"an idle connection should be closed, got {response}"
    assert elapsed <= max(IDLE_TIMEOUT, REQUEST_TIMEOUT) + SLACK, f"closed only after {elapsed:.1f}s"


def test_client_disconnect_cancels_the_upstream_stream(edge, fake):
    marker = unique("cancel")
    fake.set_model_behavior("slow-model", "slow", chunk_delay=0.2)
    words = " ".join(f"w{i}" for i in range(40))
    body = chat_body(marker, model="slow-model", stream=True)
    body["messages"][-1]["content"] += " " + words
    with httpx.Client(timeout=10, trust_env=False) as client:
        partial = edge.stream(CHAT, body, client=client, stop_after_events=3)
    assert partial.status == 200 and len(partial.events) >= 3 and not partial.done
    closed_at = time.monotonic()
    record = fake.wait_for_client_close(contains=marker, timeout=5)
    assert record is not None, "the gateway must close the upstream request when its client goes away"
    assert time.monotonic() - closed_at < 5
    assert record.chunks_sent < 40, "the upstream stream should have been cut short"


# ------------------------------------------------------------------ the shipped default config


def _default_gateway(make_gateway, tmp_path, env: dict[str, str]):
    config = copy_shipped_config(tmp_path / "default")
    gw = make_gateway(start=False, config_text=config.read_text(), env={"TOLLGATE_ADMIN_TOKEN": ADMIN_TOKEN, **env},
                      name="default")
    for policy in (tmp_path / "default" / "policies").glob("*.toml"):
        gw.write_policy(policy.name, policy.read_text(), atomic=False)
    link_shipped_assets(gw.workdir)
    gw.start()
    return gw


def test_default_config_without_upstream_says_what_to_set(make_gateway, tmp_path):
    gw = _default_gateway(make_gateway, tmp_path, {})
    response = gw.chat({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    error = assert_openai_error(response, 503, what="default config, no upstream configured")
    assert error["code"] == "upstream_not_configured", error
    assert "TOLLGATE_UPSTREAM_URL" in error["message"] and "TOLLGATE_UPSTREAM_API_KEY" in error["message"], error
    completion = gw.post("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"})
    assert_openai_error(completion, 503, what="completions on the default config")


def test_default_config_with_upstream_env_forwards(make_gateway, tmp_path, fake):
    gw = _default_gateway(make_gateway, tmp_path, {"TOLLGATE_UPSTREAM_URL": fake.base_url,
                                                   "TOLLGATE_UPSTREAM_API_KEY": "env-upstream-key"})
    marker = unique("default-env")
    body = chat_body(marker, model="gpt-4o-mini")
    response = gw.chat(body)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == fu.chat_reply_text(body["messages"])
    assert fake.last_request(CHAT).headers.get("authorization") == "Bearer env-upstream-key"
    assert cache_status(gw.chat(body)).hit


# ------------------------------------------------------------------ shutdown and restart


def test_sigterm_drains_in_flight_requests(make_gateway, fake):
    gw = make_gateway(policies={"10-standard.toml": standard_policies(fake.base_url)})
    marker = unique("drain")
    fake.set_model_behavior("slow-model", "slow", header_delay=2.0)
    body = chat_body(marker, model="slow-model")
    outcome: list = []

    def call() -> None:
        try:
            outcome.append(gw.chat(body, timeout=20))
        except Exception as error:  # noqa: BLE001 - asserted below
            outcome.append(error)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    assert fake.wait_for_count(1, CHAT, contains=marker, timeout=10), "request never reached the fake"
    gw.send_signal(signal.SIGTERM)
    thread.join(20)
    assert outcome, "in-flight request never finished"
    response = outcome[0]
    assert isinstance(response, httpx.Response), f"in-flight request failed during shutdown: {response!r}"
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == fu.chat_reply_text(body["messages"])
    rc = gw.wait_exit(10)
    assert rc == 0, f"tollgate should exit 0 after draining, got {rc}"


def test_restart_keeps_the_sqlite_tier(make_gateway, fake):
    gw = make_gateway(policies={"10-standard.toml": standard_policies(fake.base_url)})
    marker, stream_marker = unique("persist"), unique("persist-sse")
    body = chat_body(marker)
    first = gw.chat(body)
    assert first.status_code == 200 and cache_status(first).stored
    streamed = gw.stream(CHAT, chat_body(stream_marker, stream=True))
    assert streamed.done

    gw.restart()
    assert (gw.workdir / "data" / "cache.sqlite").exists(), "the disk tier lives at cache.disk_path"

    again = gw.chat(body)
    assert again.status_code == 200
    assert cache_status(again).hit, f"the entry must survive a restart: {cache_status(again)}"
    assert again.json() == first.json()
    assert fake.count(CHAT, contains=marker) == 1, "after restart the hit must come from disk, not the fake"

    replay = gw.stream(CHAT, chat_body(stream_marker, stream=True))
    assert replay.cache.hit and replay.done
    assert sse_json(replay.events) == sse_json(streamed.events), "a stored stream replays identically after restart"
    assert fake.count(CHAT, contains=stream_marker) == 1
