"""HTTP/1.1 pipelining: requests sent back to back on one connection are answered in order,
including a cache miss (answered asynchronously) followed by hits and a plain GET."""
from __future__ import annotations

import json
import socket

from harness import chat_body, unique


def _request(body: dict, extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer pipeline-key\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}\r\n")
    return head.encode() + data


def _read_all(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def _split_responses(data: bytes) -> list[tuple[str, dict[str, str], bytes]]:
    responses = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        responses.append((lines[0], headers, rest[:length]))
        data = rest[length:]
    return responses


def test_pipelined_requests_are_answered_in_order(gateway, fake):
    first = chat_body(unique("pipe-a"))
    second = chat_body(unique("pipe-b"))
    payload = (_request(first) + _request(second) + _request(first)
               + b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(payload)
        responses = _split_responses(_read_all(sock, timeout=10))

    assert [r[0] for r in responses] == ["HTTP/1.1 200 OK"] * 4, responses
    (_, h1, b1), (_, h2, b2), (_, h3, b3), (_, _, b4) = responses
    assert "fwd=miss" in h1["cache-status"] and "fwd=miss" in h2["cache-status"]
    assert "hit" in h3["cache-status"], "the repeat of the first request is a hit"
    assert json.loads(b3) == json.loads(b1), "the hit replays the first answer, in its place"
    assert json.loads(b1) != json.loads(b2)
    assert json.loads(b4) == {"status": "ok"}
