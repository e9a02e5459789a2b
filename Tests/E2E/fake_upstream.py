#!/usr/bin/env python3
"""A fake OpenAI-compatible upstream for Tollgate's end-to-end tests.

HTTP/1.1 on loopback, written on asyncio streams (no framework), so the tests control
every byte: keep-alive, chunked SSE, delays, failures, hangs and connections that die
mid-body.

Served paths
    POST /v1/chat/completions   JSON, or SSE with ``stream: true`` (chunked encoding,
                                ``data: [DONE]`` at the end, a ``choices: []`` usage chunk
                                when ``stream_options.include_usage`` is true)
    POST /v1/completions        the same for ``text_completion``
    POST /v1/embeddings         deterministic vectors; ``encoding_format`` float or base64
                                (float32 little-endian)
    GET  /v1/models             the configured model list
    GET  /v1/models/{id}
    POST /_control              change behaviour / reset counters (JSON body, see below)
    GET  /_stats                counters, last requests, disconnects

Content is a pure function of the request (see ``chat_reply_text``,
``completion_text``, ``embedding_vector``) so tests can compute what to expect;
``id`` is unique per upstream call (``chatcmpl-<name>-<seq>``) so a test can tell a
replayed (cached) response from a fresh one.

Behaviour (global default, or per model) -- ``Behavior`` fields:
    mode            normal | slow | fail | hang | die_mid_stream
    header_delay    seconds before the status line (any mode)
    chunk_delay     seconds before each SSE chunk; non-stream answers wait
                    chunk_delay * number_of_chunks (generation time)
    status, error_type, error_code, error_message, retry_after   for ``fail``
    die_after_chunks  chunks sent before the socket is closed (``die_mid_stream``);
                    non-stream responses send half their body then close
    abort           die with a TCP reset instead of a FIN
    times           apply to the next N requests only, then revert to normal

Control body examples (POST /_control):
    {"mode": "slow", "chunk_delay": 0.1, "header_delay": 0.5}
    {"model": "slow-model", "mode": "slow", "chunk_delay": 0.2}
    {"mode": "fail", "status": 429, "retry_after": 1}
    {"reset": true}                    counters and recorded requests
    {"reset_behavior": true}           global normal, per-model overrides cleared

Run standalone:  python3 Tests/E2E/fake_upstream.py --port 0 --print-port
Use from Python: ``with FakeUpstream(name="a") as fake: fake.base_url ...``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import dataclasses
import hashlib
import itertools
import json
import re
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any, Callable, Iterable

MODES = ("normal", "slow", "fail", "hang", "die_mid_stream")
API_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models")
DEFAULT_MODELS = ("fake-chat", "fake-instruct", "fake-embed", "slow-model")
DEFAULT_EMBEDDING_DIMS = 8
MAX_RECORDS = 5000
MAX_HEADER_BYTES = 256 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large",
    422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}

ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "model_not_allowed"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout_error", "timeout"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "timeout"),
}


# --------------------------------------------------------------------------------------
# Deterministic content: tests import these to know what the fake answers.
# --------------------------------------------------------------------------------------


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _content_text(content: Any) -> str:
    """Text of a message ``content``: a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return "" if content is None else str(content)


def chat_reply_text(messages: list[dict[str, Any]]) -> str:
    """The assistant text the fake answers to ``messages`` (before any max_tokens cut)."""
    last_user = ""
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            last_user = _content_text(message.get("content"))
    return f"[{_digest(messages)}] reply to: {last_user}"


def completion_text(prompt: Any) -> str:
    """The text the fake completes ``prompt`` with (before any max_tokens cut)."""
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
        shown = prompt[0]
    elif isinstance(prompt, str):
        shown = prompt
    else:
        shown = json.dumps(prompt)
    return f"[{_digest(prompt)}] completion of: {shown}"


def split_chunks(text: str) -> list[str]:
    """How the fake splits a text into stream deltas: one word (with its trailing space) each."""
    pieces = re.findall(r"\S+\s*", text)
    return pieces or [text]


def cut_text(text: str, max_tokens: int | None) -> tuple[str, str]:
    """Apply ``max_tokens`` (one "token" per chunk) -> (text, finish_reason)."""
    pieces = split_chunks(text)
    if max_tokens is not None and 0 < max_tokens < len(pieces):
        return "".join(pieces[:max_tokens]), "length"
    return text, "stop"


def expected_chat_text(messages: list[dict[str, Any]], max_tokens: int | None = None) -> str:
    return cut_text(chat_reply_text(messages), max_tokens)[0]


def expected_completion_text(prompt: Any, max_tokens: int | None = None) -> str:
    return cut_text(completion_text(prompt), max_tokens)[0]


def embedding_vector(item: Any, dims: int = DEFAULT_EMBEDDING_DIMS) -> list[float]:
    """Deterministic vector for one embeddings ``input`` item.

    Values are k/128 for k in [-128, 127], exactly representable in float32, so the
    base64 (float32) and float encodings carry identical numbers.
    """
    key = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
    out: list[float] = []
    block = 0
    while len(out) < dims:
        digest = hashlib.sha256(f"{key}|{block}".encode("utf-8")).digest()
        out.extend((b - 128) / 128.0 for b in digest)
        block += 1
    return out[:dims]


def count_tokens(text: str) -> int:
    """The fake's token count: whitespace-separated words (at least 1 for non-empty text)."""
    return len(text.split())


def _prompt_tokens_chat(messages: list[Any]) -> int:
    total = 0
    for message in messages:
        if isinstance(message, dict):
            total += count_tokens(_content_text(message.get("content"))) + 3
    return max(total, 1)


_NUMBER_FIELDS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
_INT_FIELDS = ("max_tokens", "max_completion_tokens", "n", "seed", "dimensions")


def _validate_sampling(body: dict[str, Any]) -> tuple[str, str] | None:
    """Type checks OpenAI applies to common fields -> (param, message), or None."""
    for name in _NUMBER_FIELDS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return name, f"Invalid type for '{name}': expected a number, but got {type(value).__name__}."
    for name in _INT_FIELDS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return name, f"Invalid type for '{name}': expected an integer, but got {type(value).__name__}."
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        return "stream", "Invalid type for 'stream': expected a boolean."
    return None


def error_body(status: int, message: str | None = None, *, type_: str | None = None,
               code: str | None = None, param: str | None = None) -> dict[str, Any]:
    default_type, default_code = ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {
        "error": {
            "message": message or f"fake upstream error {status}",
            "type": type_ or default_type,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }


# --------------------------------------------------------------------------------------
# Behaviour and records
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Behavior:
    mode: str = "normal"
    header_delay: float = 0.0
    chunk_delay: float = 0.0
    status: int = 500
    error_type: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None
    die_after_chunks: int = 2
    abort: bool = False
    times: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; expected one of {MODES}")
        if self.mode == "slow" and self.header_delay == 0 and self.chunk_delay == 0:
            self.chunk_delay = 0.1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Behavior":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown behaviour fields: {sorted(unknown)}")
        return cls(**data)


@dataclasses.dataclass
class RecordedRequest:
    seq: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any
    received_at: float
    model: str | None = None
    stream: bool = False
    mode: str = "normal"
    status: int | None = None
    outcome: str = "pending"  # ok | failed | died | hung | client_closed | error
    chunks_sent: int = 0
    finished_at: float | None = None
    client_closed: bool = False
    client_closed_at: float | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def summary(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "method": self.method, "path": self.path, "model": self.model,
            "stream": self.stream, "mode": self.mode, "status": self.status, "outcome": self.outcome,
            "chunks_sent": self.chunks_sent, "client_closed": self.client_closed,
            "headers": self.headers, "json": self.json,
        }


class _HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        values = [v for k, v in self.headers if k.lower() == name]
        return ", ".join(values) if values else None

    @property
    def keep_alive(self) -> bool:
        connection = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


class _ClientGone(Exception):
    pass


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class FakeUpstream:
    """An OpenAI-compatible fake on ``host:port``; ``start()`` runs it on a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, name: str = "fake",
                 models: Iterable[str] = DEFAULT_MODELS, embedding_dims: int = DEFAULT_EMBEDDING_DIMS):
        self.host = host
        self.port = port
        self.name = name
        self.models = list(models)
        self.embedding_dims = embedding_dims
        self._cond = threading.Condition()
        self._behavior = Behavior()
        self._model_behaviors: dict[str, Behavior] = {}
        self._seq = itertools.count(1)
        self._records: collections.deque[RecordedRequest] = collections.deque(maxlen=MAX_RECORDS)
        self._counts: collections.Counter[str] = collections.Counter()
        self._model_counts: collections.Counter[str] = collections.Counter()
        self._last: dict[str, RecordedRequest] = {}
        self._active = 0
        self._connections_opened = 0
        self._disconnects = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._conn_tasks: set[asyncio.Task[Any]] = set()
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self, timeout: float = 10.0) -> "FakeUpstream":
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._thread_main, name=f"fake-upstream-{self.name}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"fake upstream {self.name} did not start within {timeout}s")
        if self._start_error is not None:
            raise RuntimeError(f"fake upstream {self.name} failed to start") from self._start_error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._request_stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> "FakeUpstream":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.serve())
        except BaseException as error:  # noqa: BLE001 - reported to start()
            self._start_error = error
            self._ready.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _request_stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    async def serve(self, on_ready: Callable[[int], None] | None = None) -> None:
        """Serve until ``_request_stop`` (or cancellation). Usable from any event loop."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self.port, limit=MAX_HEADER_BYTES, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        if on_ready is not None:
            on_ready(self.port)
        try:
            await self._stopping.wait()
        finally:
            self._server.close()
            for task in list(self._conn_tasks):
                task.cancel()
            if self._conn_tasks:
                await asyncio.wait(list(self._conn_tasks), timeout=5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    # ---------------------------------------------------------------- control (thread-safe)

    def set_behavior(self, mode: str = "normal", **fields: Any) -> None:
        """Set the default behaviour for every request (per-model overrides still win)."""
        behavior = Behavior(mode=mode, **fields)
        with self._cond:
            self._behavior = behavior

    def set_model_behavior(self, model: str, mode: str = "normal", **fields: Any) -> None:
        """Set the behaviour for requests whose body names ``model``."""
        behavior = Behavior(mode=mode, **fields)
        with self._cond:
            self._model_behaviors[model] = behavior

    def clear_model_behavior(self, model: str | None = None) -> None:
        with self._cond:
            if model is None:
                self._model_behaviors.clear()
            else:
                self._model_behaviors.pop(model, None)

    def reset_behavior(self) -> None:
        with self._cond:
            self._behavior = Behavior()
            self._model_behaviors.clear()

    def reset(self) -> None:
        """Zero the counters and forget recorded requests (behaviour is kept)."""
        with self._cond:
            self._records.clear()
            self._counts.clear()
            self._model_counts.clear()
            self._last.clear()
            self._disconnects = 0
            self._connections_opened = 0
            self._cond.notify_all()

    def apply_control(self, body: dict[str, Any]) -> dict[str, Any]:
        """The ``/_control`` body, also callable directly."""
        if not isinstance(body, dict):
            raise ValueError("control body must be a JSON object")
        body = dict(body)
        if body.pop("reset", False):
            self.reset()
        if body.pop("reset_behavior", False):
            self.reset_behavior()
        if body.pop("clear_models", False):
            self.clear_model_behavior()
        model = body.pop("model", None)
        if "mode" in body or body:
            behavior = Behavior.from_dict(body)
            with self._cond:
                if model is None:
                    self._behavior = behavior
                else:
                    self._model_behaviors[str(model)] = behavior
        return self.behaviors()

    def behaviors(self) -> dict[str, Any]:
        with self._cond:
            return {
                "default": dataclasses.asdict(self._behavior),
                "models": {m: dataclasses.asdict(b) for m, b in self._model_behaviors.items()},
            }

    # ---------------------------------------------------------------- inspection (thread-safe)

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "name": self.name,
                "port": self.port,
                "total": sum(self._counts.values()),
                "counts": dict(self._counts),
                "models": dict(self._model_counts),
                "active": self._active,
                "connections_opened": self._connections_opened,
                "disconnects": self._disconnects,
                "last_requests": {path: rec.summary() for path, rec in self._last.items()},
                "behavior": {
                    "default": dataclasses.asdict(self._behavior),
                    "models": {m: dataclasses.asdict(b) for m, b in self._model_behaviors.items()},
                },
            }

    def requests(self, path: str | None = None, contains: str | None = None,
                 model: str | None = None) -> list[RecordedRequest]:
        """Recorded API requests, oldest first, filtered by path / body substring / model."""
        with self._cond:
            return [r for r in self._records if self._match(r, path, contains, model)]

    def count(self, path: str | None = None, contains: str | None = None, model: str | None = None) -> int:
        if contains is None and model is None:
            with self._cond:
                return sum(self._counts.values()) if path is None else self._counts.get(path, 0)
        return len(self.requests(path, contains, model))

    def last_request(self, path: str | None = None) -> RecordedRequest | None:
        with self._cond:
            if path is not None:
                return self._last.get(path)
            return self._records[-1] if self._records else None

    @property
    def active(self) -> int:
        with self._cond:
            return self._active

    @property
    def disconnects(self) -> int:
        with self._cond:
            return self._disconnects

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` (evaluated under the state lock) holds; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))

    def wait_for_count(self, n: int, path: str | None = None, contains: str | None = None,
                       model: str | None = None, timeout: float = 5.0) -> bool:
        return self.wait_for(
            lambda: sum(1 for r in self._records if self._match(r, path, contains, model)) >= n, timeout
        )

    def wait_for_client_close(self, contains: str | None = None, path: str | None = None,
                              timeout: float = 5.0) -> RecordedRequest | None:
        """Wait until a matching request saw its client (the gateway) close the connection."""
        found: list[RecordedRequest] = []

        def predicate() -> bool:
            for r in self._records:
                if self._match(r, path, contains, None) and r.client_closed:
                    found.append(r)
                    return True
            return False

        return found[0] if self.wait_for(predicate, timeout) else None

    @staticmethod
    def _match(r: RecordedRequest, path: str | None, contains: str | None, model: str | None) -> bool:
        if path is not None and r.path != path:
            return False
        if model is not None and r.model != model:
            return False
        if contains is not None and contains not in r.text:
            return False
        return True

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _behavior_for(self, model: str | None) -> Behavior:
        """Pick (and consume one use of) the behaviour that applies to this request."""
        with self._cond:
            if model is not None and model in self._model_behaviors:
                behavior = self._model_behaviors[model]
                if behavior.times is not None:
                    behavior.times -= 1
                    if behavior.times <= 0:
                        del self._model_behaviors[model]
                return dataclasses.replace(behavior)
            behavior = self._behavior
            if behavior.times is not None:
                behavior.times -= 1
                if behavior.times <= 0:
                    self._behavior = Behavior()
            return dataclasses.replace(behavior)

    # ---------------------------------------------------------------- HTTP plumbing

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conn_tasks.add(task)
        with self._cond:
            self._connections_opened += 1
        try:
            while True:
                try:
                    request = await self._read_request(reader, writer)
                except _HTTPError as error:
                    await self._send_json(writer, error.status, error_body(error.status, error.message),
                                          keep_alive=False)
                    break
                if request is None:
                    break
                keep_alive = await self._dispatch(request, reader, writer)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _ClientGone):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            self._conn_tasks.discard(task)

    async def _read_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _Request | None:
        try:
            line = await reader.readuntil(b"\r\n")
        except asyncio.IncompleteReadError as error:
            if not error.partial.strip():
                return None
            raise
        while line in (b"\r\n",):  # tolerate stray CRLF between requests
            line = await reader.readuntil(b"\r\n")
        parts = line.decode("latin-1").strip().split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _HTTPError(400, f"bad request line: {line[:80]!r}")
        method, target, version = parts
        headers: list[tuple[str, str]] = []
        size = len(line)
        while True:
            raw = await reader.readuntil(b"\r\n")
            size += len(raw)
            if size > MAX_HEADER_BYTES:
                raise _HTTPError(431, "request headers too large")
            if raw == b"\r\n":
                break
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep:
                raise _HTTPError(400, f"bad header line: {raw[:80]!r}")
            headers.append((name.strip(), value.strip()))
        request = _Request(method, target, version, headers, b"")
        if (request.header("expect") or "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        request.body = await self._read_body(request, reader)
        return request

    async def _read_body(self, request: _Request, reader: asyncio.StreamReader) -> bytes:
        te = (request.header("transfer-encoding") or "").lower()
        cl = request.header("content-length")
        if te and cl:
            raise _HTTPError(400, "both Content-Length and Transfer-Encoding")
        if "chunked" in te:
            body = bytearray()
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    return bytes(body)
                body += await reader.readexactly(size)
                await reader.readexactly(2)
                if len(body) > MAX_BODY_BYTES:
                    raise _HTTPError(413, "body too large")
        if cl is not None:
            try:
                length = int(cl)
            except ValueError:
                raise _HTTPError(400, f"bad Content-Length {cl!r}") from None
            if length > MAX_BODY_BYTES:
                raise _HTTPError(413, "body too large")
            return await reader.readexactly(length) if length else b""
        return b""

    @staticmethod
    def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _common_headers(self, seq: int | None) -> list[tuple[str, str]]:
        headers = [("x-fake-upstream", self.name), ("openai-processing-ms", "1")]
        if seq is not None:
            headers.append(("x-request-id", f"req_{self.name}_{seq}"))
        return headers

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, body: Any, *, keep_alive: bool = True,
                         seq: int | None = None, extra: list[tuple[str, str]] | None = None) -> None:
        data = json.dumps(body).encode("utf-8")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        headers += self._common_headers(seq) + (extra or [])
        if not keep_alive:
            headers.append(("Connection", "close"))
        writer.write(self._head(status, headers) + data)
        await writer.drain()

    # ---------------------------------------------------------------- dispatch

    async def _dispatch(self, request: _Request, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> bool:
        path, _, query = request.target.partition("?")
        keep_alive = request.keep_alive

        if path == "/_control":
            if request.method != "POST":
                await self._send_json(writer, 405, error_body(405, "use POST"), keep_alive=keep_alive)
                return keep_alive
            try:
                result = self.apply_control(json.loads(request.body or b"{}"))
            except (ValueError, TypeError) as error:
                await self._send_json(writer, 400, error_body(400, str(error)), keep_alive=keep_alive)
                return keep_alive
            await self._send_json(writer, 200, result, keep_alive=keep_alive)
            return keep_alive
        if path == "/_stats":
            await self._send_json(writer, 200, self.stats(), keep_alive=keep_alive)
            return keep_alive
        if path in ("/health", "/healthz"):
            await self._send_json(writer, 200, {"status": "ok"}, keep_alive=keep_alive)
            return keep_alive

        parsed: Any = None
        if request.body:
            with contextlib.suppress(ValueError):
                parsed = json.loads(request.body)
        model = parsed.get("model") if isinstance(parsed, dict) and isinstance(parsed.get("model"), str) else None
        stream = bool(parsed.get("stream")) if isinstance(parsed, dict) else False
        count_path = "/v1/models" if path.startswith("/v1/models/") else path
        seq = next(self._seq)
        record = RecordedRequest(
            seq=seq, method=request.method, path=count_path, query=query,
            headers={k.lower(): v for k, v in request.headers}, body=request.body, json=parsed,
            received_at=time.time(), model=model, stream=stream,
        )
        with self._cond:
            self._records.append(record)
            self._counts[count_path] += 1
            if model is not None:
                self._model_counts[model] += 1
            self._last[count_path] = record
            self._active += 1
            self._cond.notify_all()

        try:
            return await self._serve_api(request, record, path, parsed, reader, writer)
        except _ClientGone:
            self._mark_closed(record)
            return False
        except (ConnectionError, BrokenPipeError):
            self._mark_closed(record)
            return False
        finally:
            with self._cond:
                self._active -= 1
                if record.outcome == "pending":
                    record.outcome = "error"
                record.finished_at = time.time()
                self._cond.notify_all()

    def _mark_closed(self, record: RecordedRequest) -> None:
        with self._cond:
            if not record.client_closed:
                record.client_closed = True
                record.client_closed_at = time.time()
                self._disconnects += 1
            if record.outcome == "pending":
                record.outcome = "client_closed"
            self._cond.notify_all()

    @staticmethod
    def _peer_gone(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        return reader.at_eof() or reader.exception() is not None or writer.is_closing()

    async def _sleep(self, seconds: float, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Sleep, but notice promptly when the client goes away."""
        deadline = time.monotonic() + seconds
        while True:
            if self._peer_gone(reader, writer):
                raise _ClientGone()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.02))

    async def _serve_api(self, request: _Request, record: RecordedRequest, path: str, parsed: Any,
                         reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        keep_alive = request.keep_alive
        seq = record.seq

        async def reply_error(status: int, message: str, param: str | None = None) -> bool:
            record.status = status
            record.outcome = "failed"
            await self._send_json(writer, status, error_body(status, message, param=param),
                                  keep_alive=keep_alive, seq=seq)
            return keep_alive

        routes = {
            "/v1/chat/completions": ("POST", self._chat),
            "/v1/completions": ("POST", self._completion),
            "/v1/embeddings": ("POST", self._embeddings),
            "/v1/models": ("GET", self._models),
        }
        route_path = "/v1/models" if path.startswith("/v1/models/") else path
        if route_path not in routes:
            return await reply_error(404, f"Unknown request URL: {request.method} {path}")
        method, handler = routes[route_path]
        if request.method != method:
            return await reply_error(405, f"Method {request.method} not allowed for {path}; use {method}")

        behavior = self._behavior_for(record.model)
        record.mode = behavior.mode
        if behavior.header_delay > 0:
            await self._sleep(behavior.header_delay, reader, writer)

        if behavior.mode == "hang":
            record.outcome = "hung"
            self._changed()
            while True:  # until the client goes away or the server stops
                await self._sleep(3600, reader, writer)

        if behavior.mode == "fail":
            record.status = behavior.status
            record.outcome = "failed"
            body = error_body(behavior.status, behavior.error_message, type_=behavior.error_type,
                              code=behavior.error_code)
            extra = [("Retry-After", f"{behavior.retry_after:g}")] if behavior.retry_after is not None else []
            await self._send_json(writer, behavior.status, body, keep_alive=keep_alive, seq=seq, extra=extra)
            return keep_alive

        if route_path != "/v1/models":
            if request.body and parsed is None:
                return await reply_error(400, "We could not parse the JSON body of your request.")
            if not isinstance(parsed, dict):
                return await reply_error(400, "The request body must be a JSON object.")
            if not isinstance(parsed.get("model"), str) or not parsed["model"]:
                return await reply_error(400, "you must provide a model parameter", "model")
            problem = _validate_sampling(parsed)
            if problem is not None:
                return await reply_error(400, problem[1], problem[0])
        try:
            result = handler(parsed, path, seq)
        except _HTTPError as error:
            return await reply_error(error.status, error.message)
        status, body, events = result

        if events is None or not record.stream:
            # Whole JSON answer, after the simulated generation time (one chunk_delay per chunk).
            if behavior.chunk_delay > 0:
                n = max(len(events or []), 1)
                await self._sleep(behavior.chunk_delay * n, reader, writer)
            data = json.dumps(body).encode("utf-8")
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
            headers += self._common_headers(seq)
            if not keep_alive:
                headers.append(("Connection", "close"))
            record.status = status
            if behavior.mode == "die_mid_stream":
                writer.write(self._head(status, headers) + data[: len(data) // 2])
                await writer.drain()
                record.outcome = "died"
                self._die(writer, behavior)
                return False
            writer.write(self._head(status, headers) + data)
            await writer.drain()
            record.outcome = "ok"
            return keep_alive

        # SSE over chunked transfer encoding.
        headers = [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Cache-Control", "no-cache"),
            ("Transfer-Encoding", "chunked"),
        ] + self._common_headers(seq)
        if not keep_alive:
            headers.append(("Connection", "close"))
        record.status = status
        writer.write(self._head(status, headers))
        await writer.drain()
        payloads = [json.dumps(e) for e in events] + ["[DONE]"]
        for index, payload in enumerate(payloads):
            if behavior.mode == "die_mid_stream" and index >= behavior.die_after_chunks:
                record.outcome = "died"
                self._die(writer, behavior)
                return False
            if behavior.chunk_delay > 0:
                await self._sleep(behavior.chunk_delay, reader, writer)
            if self._peer_gone(reader, writer):
                raise _ClientGone()
            data = f"data: {payload}\n\n".encode("utf-8")
            writer.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
            await writer.drain()
            record.chunks_sent += 1
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        record.outcome = "ok"
        return keep_alive

    @staticmethod
    def _die(writer: asyncio.StreamWriter, behavior: Behavior) -> None:
        if behavior.abort:
            transport = writer.transport
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            writer.close()

    # ---------------------------------------------------------------- endpoints

    def _chat(self, body: dict[str, Any], path: str, seq: int):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _HTTPError(400, "'messages' must be a non-empty array")
        for message in messages:
            if not isinstance(message, dict) or "role" not in message:
                raise _HTTPError(400, "each message must be an object with a 'role'")
        model = body["model"]
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        max_tokens = max_tokens if isinstance(max_tokens, int) else None
        text, finish = cut_text(chat_reply_text(messages), max_tokens)
        n = body.get("n") if isinstance(body.get("n"), int) and body.get("n") > 0 else 1
        created = int(time.time())
        ident = f"chatcmpl-{self.name}-{seq}"
        fingerprint = f"fp_{self.name}"
        prompt_tokens = _prompt_tokens_chat(messages)
        completion_tokens = len(split_chunks(text)) * n
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        full = {
            "id": ident, "object": "chat.completion", "created": created, "model": model,
            "system_fingerprint": fingerprint,
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": text, "refusal": None},
                 "logprobs": None, "finish_reason": finish}
                for i in range(n)
            ],
            "usage": usage,
        }
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(choices: list[dict[str, Any]], with_usage: Any = None) -> dict[str, Any]:
            event = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                     "system_fingerprint": fingerprint, "choices": choices}
            if include_usage:
                event["usage"] = with_usage
            return event

        events = []
        for i in range(n):
            events.append(chunk([{"index": i, "delta": {"role": "assistant", "content": ""},
                                  "logprobs": None, "finish_reason": None}]))
        for piece in split_chunks(text):
            for i in range(n):
                events.append(chunk([{"index": i, "delta": {"content": piece}, "logprobs": None,
                                      "finish_reason": None}]))
        for i in range(n):
            events.append(chunk([{"index": i, "delta": {}, "logprobs": None, "finish_reason": finish}]))
        if include_usage:
            events.append(chunk([], usage))
        return 200, full, events

    def _completion(self, body: dict[str, Any], path: str, seq: int):
        if "prompt" not in body:
            raise _HTTPError(400, "you must provide a prompt parameter")
        prompt = body["prompt"]
        model = body["model"]
        max_tokens = body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else None
        text, finish = cut_text(completion_text(prompt), max_tokens)
        created = int(time.time())
        ident = f"cmpl-{self.name}-{seq}"
        prompt_text = prompt if isinstance(prompt, str) else json.dumps(prompt)
        prompt_tokens = max(count_tokens(prompt_text), 1)
        completion_tokens = len(split_chunks(text))
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        full = {
            "id": ident, "object": "text_completion", "created": created, "model": model,
            "system_fingerprint": f"fp_{self.name}",
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}],
            "usage": usage,
        }
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(choices: list[dict[str, Any]], with_usage: Any = None) -> dict[str, Any]:
            event = {"id": ident, "object": "text_completion", "created": created, "model": model,
                     "system_fingerprint": f"fp_{self.name}", "choices": choices}
            if include_usage:
                event["usage"] = with_usage
            return event

        events = [chunk([{"text": piece, "index": 0, "logprobs": None, "finish_reason": None}])
                  for piece in split_chunks(text)]
        events.append(chunk([{"text": "", "index": 0, "logprobs": None, "finish_reason": finish}]))
        if include_usage:
            events.append(chunk([], usage))
        return 200, full, events

    def _embeddings(self, body: dict[str, Any], path: str, seq: int):
        if "input" not in body:
            raise _HTTPError(400, "you must provide an input parameter")
        raw = body["input"]
        if isinstance(raw, str):
            items: list[Any] = [raw]
        elif isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
            items = [raw]
        elif isinstance(raw, list) and raw:
            items = list(raw)
        else:
            raise _HTTPError(400, "'input' must be a non-empty string or array")
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise _HTTPError(400, f"unsupported encoding_format {encoding!r}")
        dims = body.get("dimensions") if isinstance(body.get("dimensions"), int) else self.embedding_dims
        if dims <= 0:
            raise _HTTPError(400, "'dimensions' must be positive")
        data = []
        tokens = 0
        for index, item in enumerate(items):
            vector = embedding_vector(item, dims)
            tokens += max(count_tokens(item), 1) if isinstance(item, str) else max(len(item), 1)
            if encoding == "base64":
                value: Any = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode("ascii")
            else:
                value = vector
            data.append({"object": "embedding", "index": index, "embedding": value})
        full = {"object": "list", "data": data, "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return 200, full, None

    def _models(self, body: Any, path: str, seq: int):
        def card(model: str) -> dict[str, Any]:
            return {"id": model, "object": "model", "created": 1700000000, "owned_by": f"fake-{self.name}"}

        if path.startswith("/v1/models/"):
            model = path[len("/v1/models/"):]
            if model not in self.models:
                raise _HTTPError(404, f"The model '{model}' does not exist")
            return 200, card(model), None
        return 200, {"object": "list", "data": [card(m) for m in self.models]}, None


# --------------------------------------------------------------------------------------
# Standalone
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--name", default="fake")
    parser.add_argument("--print-port", action="store_true", help="print the bound port on stdout")
    parser.add_argument("--mode", default="normal", choices=MODES)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--header-delay", type=float, default=0.0)
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model list")
    parser.add_argument("--model-behavior", action="append", default=[], metavar="MODEL=JSON",
                        help='per-model override, e.g. slow-model=\'{"mode": "slow", "chunk_delay": 0.2}\'')
    args = parser.parse_args(argv)

    fake = FakeUpstream(args.host, args.port, name=args.name, models=[m for m in args.models.split(",") if m])
    fake.set_behavior(args.mode, chunk_delay=args.chunk_delay, header_delay=args.header_delay)
    for spec in args.model_behavior:
        model, sep, text = spec.partition("=")
        if not sep:
            parser.error(f"--model-behavior wants MODEL=JSON, got {spec!r}")
        fake.apply_control({"model": model, **json.loads(text)})

    async def run() -> None:
        loop = asyncio.get_running_loop()

        def on_ready(port: int) -> None:
            if args.print_port:
                print(port, flush=True)
            else:
                print(f"fake upstream {args.name} listening on http://{args.host}:{port}/v1", flush=True)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, fake._request_stop)
        await fake.serve(on_ready)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
