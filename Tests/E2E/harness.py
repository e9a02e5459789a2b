"""Helpers for Tollgate's end-to-end tests: the gateway process, config/policy files, and
small HTTP utilities (SSE parsing, Cache-Status parsing, raw sockets, error-shape checks).

Everything is bounded: every HTTP call has a timeout, every wait loop a deadline, and all
sockets are on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "e2e-admin-token"
BACKEND_KEY_ENV = "FAKE_UPSTREAM_KEY"
BACKEND_KEY = "backend-secret-key"
CLIENT_KEY = "client-key"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0
GATEWAY_ENV_TO_DROP = ("TOLLGATE_UPSTREAM_URL", "TOLLGATE_UPSTREAM_API_KEY", "TOLLGATE_ADMIN_TOKEN")

#: Gateways currently running; the conftest report hook prints their log tails on failure.
ACTIVE_GATEWAYS: list["Gateway"] = []


# --------------------------------------------------------------------------------------
# Small utilities
# --------------------------------------------------------------------------------------


def free_port() -> int:
    """A port that was free a moment ago (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    return free_port()


def unique(prefix: str = "t") -> str:
    """A marker unique to this call; put it in prompts so cache entries never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def tenant_id(api_key: str | None) -> str:
    """The tenant the contract derives from a client key (docs/contracts.md)."""
    if not api_key:
        return "anonymous"
    return "k-" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value; return it, or raise on timeout."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - remembered and reported on timeout
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------
# TOML rendering (just what config and policy files need)
# --------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # TOML basic strings accept JSON escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot render {value!r} as TOML")


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_table(header: str, values: dict[str, Any]) -> str:
    lines = [header]
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def backend_toml(name: str, url: str | None = None, *, replicas: list[str] | None = None,
                 api_key_env: str | None = BACKEND_KEY_ENV, **options: Any) -> str:
    values: dict[str, Any] = {"type": "openai"}
    if url is not None:
        values["url"] = url
    if replicas is not None:
        values["replicas"] = replicas
    if api_key_env:
        values["api_key_env"] = api_key_env
    values.setdefault("connect_timeout_seconds", 2)
    values.setdefault("timeout_seconds", 20)
    values.update(options)
    return toml_table(f"[backends.{toml_key(name)}]", values)


def route_toml(name: str, *, kinds: list[str], models: list[str], backends: list[Any], **options: Any) -> str:
    values: dict[str, Any] = {"name": name, "kinds": kinds, "models": models, "backends": backends}
    values.update(options)
    return toml_table("[[routes]]", values)


def standard_policies(fake_url: str) -> str:
    """The routing table most modules use: one fake backend, no catch-all route.

    routes (first match wins):
      chat          chat+completion  fake-*, slow-model     cache on, tags ["team-a"]
      chat-b        chat             other-*                cache on, tags ["team-b"]
      route-purge   chat             rp-*                   cache on
      tagged        chat             tg-*                   cache on, tags ["purge-tag"]
      embeddings    embedding        fake-embed*            cache on
      nocache       chat             nocache-*              cache off
    """
    return "\n".join([
        backend_toml("fake", fake_url, timeout_seconds=20),
        route_toml("chat", kinds=["chat", "completion"], models=["fake-*", "slow-model"], backends=["fake"],
                   timeout_seconds=30, cache={"enabled": True, "ttl_seconds": 3600, "tags": ["team-a"]}),
        route_toml("chat-b", kinds=["chat"], models=["other-*"], backends=["fake"],
                   cache={"enabled": True, "ttl_seconds": 600, "tags": ["team-b"]}),
        route_toml("route-purge", kinds=["chat"], models=["rp-*"], backends=["fake"],
                   cache={"enabled": True, "ttl_seconds": 3600}),
        route_toml("tagged", kinds=["chat"], models=["tg-*"], backends=["fake"],
                   cache={"enabled": True, "ttl_seconds": 3600, "tags": ["purge-tag"]}),
        route_toml("embeddings", kinds=["embedding"], models=["fake-embed*"], backends=["fake"],
                   cache={"enabled": True, "ttl_seconds": 3600}),
        route_toml("nocache", kinds=["chat"], models=["nocache-*"], backends=["fake"],
                   cache={"enabled": False}),
    ])


def render_config(*, listen: str, admin_listen: str, admin_token: str | None, disk_path: str,
                  server: dict[str, Any] | None = None, cache: dict[str, Any] | None = None,
                  log: dict[str, Any] | None = None, limits: dict[str, Any] | None = None) -> str:
    server_values: dict[str, Any] = {
        "listen": listen,
        "admin_listen": admin_listen,
        "admin_token": admin_token if admin_token is not None else "",
        "threads": 2,
        "policies_dir": "policies",
        "watch_policies": True,
    }
    server_values.update(server or {})
    cache_values: dict[str, Any] = {
        "enabled": True,
        "memory_bytes": 64 * 1024 * 1024,
        "default_ttl_seconds": 3600,
        "disk_path": disk_path,
    }
    cache_values.update(cache or {})
    log_values: dict[str, Any] = {"level": "info", "access_log": True}
    log_values.update(log or {})
    sections = [
        "# written by Tests/E2E/harness.py",
        toml_table("[server]", server_values),
        toml_table("[cache]", cache_values),
        toml_table("[log]", log_values),
    ]
    if limits is not None:
        sections.append(limits_toml(limits))
    return "\n".join(sections)


def limits_toml(limits: dict[str, Any]) -> str:
    """``[limits]`` plus one ``[limits.tenants.<name>]`` table per entry of ``limits["tenants"]``."""
    values = dict(limits)
    tenants = values.pop("tenants", None) or {}
    parts = [toml_table("[limits]", values)]
    for name, tenant in tenants.items():
        parts.append(toml_table(f"[limits.tenants.{toml_key(name)}]", tenant))
    return "\n".join(parts)


def write_atomic(path: Path, text: str) -> None:
    """Write via a hidden temp file and rename, so a watcher never reads half a file."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------
# Response helpers
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class CacheStatus:
    """The ``tollgate`` member of an RFC 9211 ``Cache-Status`` header."""

    raw: str
    params: dict[str, str | bool]

    @property
    def hit(self) -> bool:
        return self.params.get("hit") is True

    @property
    def fwd(self) -> str | None:
        value = self.params.get("fwd")
        return value if isinstance(value, str) else None

    @property
    def stored(self) -> bool:
        return self.params.get("stored") is True

    @property
    def collapsed(self) -> bool:
        return self.params.get("collapsed") is True

    @property
    def key(self) -> str | None:
        value = self.params.get("key")
        return value if isinstance(value, str) else None

    @property
    def ttl(self) -> int | None:
        value = self.params.get("ttl")
        return int(value) if isinstance(value, str) and value.lstrip("-").isdigit() else None

    def __str__(self) -> str:
        return self.raw


def parse_cache_status(value: str | None) -> CacheStatus:
    if not value:
        return CacheStatus("", {})
    members = [m.strip() for m in value.split(",")]
    member = next((m for m in members if m.lower().startswith("tollgate")), members[-1])
    params: dict[str, str | bool] = {}
    for part in member.split(";")[1:]:
        part = part.strip()
        if not part:
            continue
        name, sep, val = part.partition("=")
        params[name.strip().lower()] = val.strip().strip('"') if sep else True
    return CacheStatus(member, params)


def cache_status(response: httpx.Response | Any) -> CacheStatus:
    return parse_cache_status(response.headers.get("cache-status"))


def parse_sse(text: str) -> list[str]:
    """The ``data`` payloads of an SSE body, in order (multi-line data joined with \\n)."""
    events: list[str] = []
    data: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "":
            if data:
                events.append("\n".join(data))
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
    if data:
        events.append("\n".join(data))
    return events


def sse_json(events: Iterable[str]) -> list[Any]:
    """Parsed JSON events, without the final ``[DONE]``."""
    return [json.loads(e) for e in events if e != "[DONE]"]


def chat_text_from_events(events: Iterable[str]) -> str:
    text = []
    for event in sse_json(events):
        for choice in event.get("choices") or []:
            if choice.get("index", 0) == 0:
                text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text)


def completion_text_from_events(events: Iterable[str]) -> str:
    text = []
    for event in sse_json(events):
        for choice in event.get("choices") or []:
            if choice.get("index", 0) == 0:
                text.append(choice.get("text") or "")
    return "".join(text)


@dataclasses.dataclass
class StreamResult:
    status: int
    headers: httpx.Headers
    events: list[str]
    raw: str
    error: BaseException | None
    elapsed: float

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1] == "[DONE]"

    @property
    def error_events(self) -> list[Any]:
        out = []
        for event in self.events:
            with contextlib.suppress(ValueError):
                parsed = json.loads(event)
                if isinstance(parsed, dict) and "error" in parsed:
                    out.append(parsed)
        return out

    @property
    def cache(self) -> CacheStatus:
        return parse_cache_status(self.headers.get("cache-status"))


def stream_post(client: httpx.Client, url: str, body: Any, *, headers: dict[str, str] | None = None,
                timeout: float = HTTP_TIMEOUT, stop_after_events: int | None = None) -> StreamResult:
    """POST and read an SSE answer to the end (or until an error / ``stop_after_events``)."""
    start = time.monotonic()
    raw = ""
    error: BaseException | None = None
    status = 0
    response_headers = httpx.Headers()
    try:
        with client.stream("POST", url, json=body, headers=headers, timeout=timeout) as response:
            status = response.status_code
            response_headers = response.headers
            for chunk in response.iter_text():
                raw += chunk
                if stop_after_events is not None and len(parse_sse(raw.rsplit("\n\n", 1)[0] + "\n\n")) >= stop_after_events:
                    break
                if time.monotonic() - start > timeout:
                    raise TimeoutError(f"stream still open after {timeout}s")
    except (httpx.HTTPError, TimeoutError) as caught:
        error = caught
    events = parse_sse(raw)
    return StreamResult(status, response_headers, events, raw, error, time.monotonic() - start)


def assert_openai_error(response: httpx.Response, status: int | tuple[int, ...], *,
                        what: str = "") -> dict[str, Any]:
    """Check an OpenAI-shaped JSON error with the expected status; return the error object."""
    statuses = (status,) if isinstance(status, int) else status
    label = f"{what}: " if what else ""
    assert response.status_code in statuses, (
        f"{label}expected status {statuses}, got {response.status_code}; body: {response.text[:500]!r}"
    )
    content_type = response.headers.get("content-type", "")
    assert "json" in content_type.lower(), f"{label}error must be JSON, got content-type {content_type!r}"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{label}error body is not JSON: {response.text[:500]!r}") from None
    return assert_error_shape(body, what=what)


def assert_error_shape(body: Any, *, what: str = "") -> dict[str, Any]:
    label = f"{what}: " if what else ""
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), (
        f"{label}error must be {{'error': {{...}}}}, got {body!r}"
    )
    error = body["error"]
    for field in ("message", "type", "param", "code"):
        assert field in error, f"{label}error object lacks {field!r}: {error!r}"
    assert isinstance(error["message"], str) and error["message"], f"{label}error message is empty: {error!r}"
    assert isinstance(error["type"], str) and error["type"], f"{label}error type is empty: {error!r}"
    return error


def chat_body(marker: str, *, model: str = "fake-chat", stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a test."},
            {"role": "user", "content": f"hello {marker}"},
        ],
    }
    if stream:
        body["stream"] = True
    body.update(extra)
    return body


# --------------------------------------------------------------------------------------
# Raw sockets (hard edges that httpx would refuse to produce)
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class RawResponse:
    status: int | None
    headers: dict[str, str]
    body: bytes
    closed: bool
    error: str | None

    def json(self) -> Any:
        return json.loads(self.body)


def raw_exchange(port: int, data: bytes | Iterable[bytes], *, timeout: float = 10.0,
                 pause_between: float = 0.0) -> RawResponse:
    """Send bytes on a fresh connection; read one response (or the close)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        parts = [data] if isinstance(data, (bytes, bytearray)) else list(data)
        send_error = None
        for part in parts:
            try:
                sock.sendall(part)
            except OSError as error:  # the server may answer and close before we finish
                send_error = repr(error)
                break
            if pause_between:
                time.sleep(pause_between)
        return read_raw_response(sock, timeout=timeout, send_error=send_error)
    finally:
        sock.close()


def read_raw_response(sock: socket.socket, *, timeout: float, send_error: str | None = None) -> RawResponse:
    deadline = time.monotonic() + timeout
    buf = b""
    closed = False
    error = send_error
    while b"\r\n\r\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            error = error or "timeout waiting for response head"
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            error = error or "timeout waiting for response head"
            break
        except OSError as caught:
            error = repr(caught)
            closed = True
            break
        if not chunk:
            closed = True
            break
        buf += chunk
    if b"\r\n\r\n" not in buf:
        return RawResponse(None, {}, buf, closed, error)
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ")[1])
    except (IndexError, ValueError):
        return RawResponse(None, {}, buf, closed, f"bad status line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rest
    length = headers.get("content-length")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    while not closed:
        if length is not None and len(body) >= int(length):
            body = body[: int(length)]
            break
        if chunked and body.endswith(b"0\r\n\r\n"):
            break
        if length is None and not chunked and status in (204, 304):
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            error = error or "timeout reading response body"
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            error = error or "timeout reading response body"
            break
        except OSError as caught:
            error = repr(caught)
            closed = True
            break
        if not chunk:
            closed = True
            break
        body += chunk
    if chunked:
        body = _dechunk(body)
    return RawResponse(status, headers, body, closed, error)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        line, sep, data = data.partition(b"\r\n")
        if not sep:
            break
        size = int(line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return out


# --------------------------------------------------------------------------------------
# The gateway process
# --------------------------------------------------------------------------------------


try:  # loaded here, not in the child: no dlopen between fork and exec
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _LIBC = None


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it if the test runner dies (Linux)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def gateway_env(extra: dict[str, str] | None = None, drop: Iterable[str] = GATEWAY_ENV_TO_DROP) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in set(drop)}
    env[BACKEND_KEY_ENV] = BACKEND_KEY
    env.update(extra or {})
    return env


class Gateway:
    """One ``tollgate serve`` process in its own directory, with its config and policies.

    ``workdir`` holds ``config.toml``, ``policies/``, ``data/cache.sqlite`` and
    ``gateway.log`` (the process's stdout and stderr).
    """

    def __init__(self, binary: str | Path, workdir: Path, *, policies: dict[str, str] | None = None,
                 server: dict[str, Any] | None = None, cache: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None, admin_token: str | None = ADMIN_TOKEN,
                 config_text: str | None = None, extra_args: Iterable[str] = (), name: str = "gateway",
                 fakes: dict[str, Any] | None = None, limits: dict[str, Any] | None = None):
        self.binary = str(binary)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.policies_dir = self.workdir / "policies"
        self.policies_dir.mkdir(exist_ok=True)
        self.config_path = self.workdir / "config.toml"
        self.log_path = self.workdir / "gateway.log"
        self.server_options = dict(server or {})
        self.cache_options = dict(cache or {})
        self.limits_options = None if limits is None else dict(limits)
        self.admin_token = admin_token
        self.env = gateway_env(env)
        self.config_text = config_text
        self.extra_args = list(extra_args)
        self.name = name
        self.fakes = dict(fakes or {})
        self.port = 0
        self.admin_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file = None
        self._http = httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False)
        for file_name, text in (policies or {}).items():
            self.write_policy(file_name, text, atomic=False)

    # ---------------------------------------------------------------- addresses

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def fake(self):
        """The first fake upstream this gateway was configured with (see ``fakes``)."""
        return next(iter(self.fakes.values()), None)

    @property
    def pid(self) -> int:
        assert self.process is not None, "gateway is not running"
        return self.process.pid

    # ---------------------------------------------------------------- files

    def write_config(self) -> None:
        if self.config_text is not None:
            self.config_path.write_text(self.config_text)
            return
        self.config_path.write_text(render_config(
            listen=f"127.0.0.1:{self.port}",
            admin_listen=f"127.0.0.1:{self.admin_port}",
            admin_token=self.admin_token,
            disk_path=str(self.workdir / "data" / "cache.sqlite"),
            server=self.server_options,
            cache=self.cache_options,
            limits=self.limits_options,
        ))

    def write_policy(self, file_name: str, text: str, *, atomic: bool = True) -> Path:
        path = self.policies_dir / file_name
        if atomic:
            write_atomic(path, text)
        else:
            path.write_text(text)
        return path

    def remove_policy(self, file_name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.policies_dir / file_name).unlink()

    # ---------------------------------------------------------------- process

    def start(self, timeout: float = READY_TIMEOUT, new_ports: bool = True) -> "Gateway":
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("gateway already running")
        if new_ports or not self.port:
            self.port, self.admin_port = free_port(), free_port()
        self.write_config()
        (self.workdir / "data").mkdir(exist_ok=True)
        args = [self.binary, "serve", "--config", str(self.config_path), *self.extra_args]
        if self.config_text is not None:
            args += ["--listen", f"127.0.0.1:{self.port}", "--admin-listen", f"127.0.0.1:{self.admin_port}"]
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"\n===== {time.strftime('%H:%M:%S')} start: {' '.join(args)}\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            args, cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
            stdout=self._log_file, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )
        if self not in ACTIVE_GATEWAYS:
            ACTIVE_GATEWAYS.append(self)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                rc = None if self.process is None else self.process.returncode
                raise AssertionError(f"tollgate exited with {rc} before it was ready\n{self.log_tail()}")
            try:
                response = self._http.get(f"{self.url}/readyz", timeout=2)
                if response.status_code == 200 and self._admin_port_open():
                    return
                last = f"/readyz -> {response.status_code} {response.text[:200]!r}"
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(0.1)
        raise AssertionError(f"tollgate not ready within {timeout}s ({last})\n{self.log_tail()}")

    def _admin_port_open(self) -> bool:
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", self.admin_port), timeout=1):
                return True
        return False

    def send_signal(self, sig: int) -> None:
        assert self.process is not None and self.process.poll() is None, "gateway is not running"
        self.process.send_signal(sig)

    def wait_exit(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Wait for the process to exit; its return code, or None if it is still running."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL. Returns the exit status."""
        rc = None
        if self.process is not None:
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.send_signal(sig)
                try:
                    rc = self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._note(f"did not exit {timeout}s after signal {sig}; killing")
                    self.process.kill()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.process.wait(5)
                    rc = None
            else:
                rc = self.process.returncode
            self._note(f"stopped, status {self.process.returncode}")
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return rc

    def restart(self, timeout: float = READY_TIMEOUT) -> "Gateway":
        rc = self.stop()
        assert rc == 0, f"tollgate should exit 0 on SIGTERM, got {rc}\n{self.log_tail()}"
        return self.start(timeout)

    def close(self) -> None:
        self.stop()
        if self in ACTIVE_GATEWAYS:
            ACTIVE_GATEWAYS.remove(self)
        self._http.close()

    def _note(self, text: str) -> None:
        if self._log_file is not None:
            with contextlib.suppress(ValueError):
                self._log_file.write(f"===== {time.strftime('%H:%M:%S')} harness: {text}\n".encode())
                self._log_file.flush()

    def log_text(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""

    def log_tail(self, lines: int = 60) -> str:
        tail = self.log_text().splitlines()[-lines:]
        return f"--- last {len(tail)} lines of {self.log_path} ---\n" + "\n".join(tail)

    # ---------------------------------------------------------------- HTTP

    def client_headers(self, api_key: str | None = CLIENT_KEY, headers: dict[str, str] | None = None) -> dict[str, str]:
        out = {} if api_key is None else {"Authorization": f"Bearer {api_key}"}
        out.update(headers or {})
        return out

    def post(self, path: str, body: Any = None, *, content: bytes | str | None = None,
             api_key: str | None = CLIENT_KEY, headers: dict[str, str] | None = None,
             timeout: float = HTTP_TIMEOUT) -> httpx.Response:
        hdrs = self.client_headers(api_key, headers)
        if content is not None:
            hdrs.setdefault("Content-Type", "application/json")
            return self._http.post(self.url + path, content=content, headers=hdrs, timeout=timeout)
        return self._http.post(self.url + path, json=body, headers=hdrs, timeout=timeout)

    def get(self, path: str, *, api_key: str | None = CLIENT_KEY, timeout: float = HTTP_TIMEOUT) -> httpx.Response:
        return self._http.get(self.url + path, headers=self.client_headers(api_key), timeout=timeout)

    def chat(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.post("/v1/chat/completions", body, **kwargs)

    def stream(self, path: str, body: dict[str, Any], *, api_key: str | None = CLIENT_KEY,
               headers: dict[str, str] | None = None, timeout: float = HTTP_TIMEOUT,
               client: httpx.Client | None = None, stop_after_events: int | None = None) -> StreamResult:
        return stream_post(client or self._http, self.url + path, body, headers=self.client_headers(api_key, headers),
                           timeout=timeout, stop_after_events=stop_after_events)

    def admin(self, method: str, path: str, json_body: Any = None, *, token: str | None | bool = True,
              params: dict[str, Any] | None = None, timeout: float = HTTP_TIMEOUT) -> httpx.Response:
        """An admin-plane request. ``token=True`` sends the configured token, ``None``/False none."""
        headers = {}
        if token is True:
            token = self.admin_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self._http.request(method, self.admin_url + path, json=json_body, params=params,
                                  headers=headers, timeout=timeout)

    def purge(self, **selector: Any) -> int:
        response = self.admin("POST", "/admin/cache/purge", selector)
        assert response.status_code == 200, f"purge {selector} -> {response.status_code} {response.text[:300]}"
        body = response.json()
        assert isinstance(body.get("purged"), int), f"purge answer lacks an integer 'purged': {body!r}"
        return body["purged"]

    def reload_policies(self) -> httpx.Response:
        return self.admin("POST", "/admin/policies/reload")

    def openai(self, api_key: str = CLIENT_KEY, *, max_retries: int = 0, timeout: float = HTTP_TIMEOUT):
        import openai  # imported lazily: the fake's self-tests do not need a gateway

        return openai.OpenAI(base_url=self.base_url, api_key=api_key, max_retries=max_retries, timeout=timeout,
                             http_client=httpx.Client(trust_env=False, timeout=timeout))

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``tollgate <args>`` (not the server) and capture its output."""
        return run_cli(self.binary, *args, timeout=timeout, env=self.env, cwd=self.workdir)


def run_cli(binary: str | Path, *args: str, timeout: float = 60.0, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else gateway_env(), cwd=cwd, stdin=subprocess.DEVNULL)


def module_gateway(request, tmp_path_factory, tollgate_bin, **kwargs: Any) -> Gateway:
    """Start a gateway shared by one test module (call from a module-scoped fixture)."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    gateway = Gateway(tollgate_bin, tmp_path_factory.mktemp(name), name=name, **kwargs)
    request.addfinalizer(gateway.close)
    gateway.start()
    return gateway


@contextlib.contextmanager
def running_gateway(binary: str | Path, workdir: Path, **kwargs: Any) -> Iterator[Gateway]:
    gateway = Gateway(binary, workdir, **kwargs)
    try:
        gateway.start()
        yield gateway
    finally:
        gateway.close()


# --------------------------------------------------------------------------------------
# Prometheus text
# --------------------------------------------------------------------------------------


_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEnNaIif]+)(\s+\d+)?$")


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels_text, value = match.group(1), match.group(2) or "", match.group(3)
        labels = dict(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', labels_text))
        with contextlib.suppress(ValueError):
            samples.append((name, labels, float(value)))
    return samples


def metric_sum(samples, predicate) -> float:
    return sum(value for name, labels, value in samples if predicate(name, labels))


class Background:
    """Run a callable repeatedly on a thread until stopped; collect results and errors."""

    def __init__(self, fn, *, interval: float = 0.02, max_calls: int = 500):
        self.fn = fn
        self.interval = interval
        self.max_calls = max_calls
        self.results: list[Any] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.results) + len(self.errors) < self.max_calls:
            try:
                self.results.append(self.fn())
            except Exception as error:  # noqa: BLE001 - collected for the test to assert on
                self.errors.append(error)
            self._stop.wait(self.interval)

    def __enter__(self) -> "Background":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def copy_shipped_config(dest: Path) -> Path:
    """Copy the repository's shipped ``config.toml`` and ``policies/`` into ``dest``."""
    source = REPO_ROOT / "config.toml"
    assert source.exists(), f"the shipped default config {source} does not exist"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, dest / "config.toml")
    if (REPO_ROOT / "policies").is_dir():
        shutil.copytree(REPO_ROOT / "policies", dest / "policies", dirs_exist_ok=True)
    return dest / "config.toml"


def link_shipped_assets(dest: Path) -> None:
    """Symlink the repository's other top-level folders (models, ...) that a shipped config
    may name by relative path, except the ones a gateway writes to."""
    for entry in REPO_ROOT.iterdir():
        if entry.name.startswith(".") or entry.name in {"policies", "data", "Sources", "Tests", "docs"}:
            continue
        target = dest / entry.name
        if entry.is_dir() and not target.exists():
            with contextlib.suppress(OSError):
                target.symlink_to(entry, target_is_directory=True)
