"""Virtual keys, rate limits, budgets and the spend ledger (``[limits]``, route ``limits``,
``/admin/keys``, ``/admin/spend``, ``tollgate keys|spend``), driven as a user would.

Prices are chosen so costs are easy to check against the fake's deterministic ``usage``:
route ``priced`` charges $0.001 per prompt token and $0.002 per completion token; route
``outonly`` charges $1 per completion token and nothing for the prompt, so with ``max_tokens``
below the reply's length the worst-case reservation equals the real cost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import signal
import socket
import sqlite3
import threading
import time

import httpx
import pytest

import fake_upstream as fu
from harness import (
    ADMIN_TOKEN,
    REPO_ROOT,
    assert_openai_error,
    backend_toml,
    cache_status,
    chat_body,
    metric_sum,
    parse_metrics,
    read_raw_response,
    route_toml,
    toml_table,
    unique,
)

CHAT = "/v1/chat/completions"
IN_PRICE = 1000.0      # USD per 1M prompt tokens on route "priced"  -> $0.001 per token
OUT_PRICE = 2000.0     # USD per 1M completion tokens on route "priced" -> $0.002 per token
OUTONLY_PRICE = 1_000_000.0  # USD per 1M completion tokens on route "outonly" -> $1 per token
RESET_FORMAT = re.compile(r"^(\d+(\.\d+)?ms|(\d+h)?(\d+m)?(\d+(\.\d+)?s)?)$")


def policies(fake_url: str, *, capped_usd: float = 1.0) -> str:
    return "\n".join([
        backend_toml("fake", fake_url),
        route_toml("priced", kinds=["chat", "completion"], models=["fake-*"], backends=["fake"],
                   price_per_1m_input_tokens=IN_PRICE, price_per_1m_output_tokens=OUT_PRICE,
                   cache={"enabled": True, "ttl_seconds": 3600}),
        route_toml("outonly", kinds=["chat"], models=["out-*"], backends=["fake"],
                   price_per_1m_output_tokens=OUTONLY_PRICE, cache={"enabled": False}),
        route_toml("capped", kinds=["chat"], models=["capped-*"], backends=["fake"],
                   price_per_1m_input_tokens=IN_PRICE, price_per_1m_output_tokens=OUT_PRICE,
                   limits={"budgets": [{"usd": capped_usd, "period": "day"}]},
                   budget_fallback="cheap", cache={"enabled": False}),
        route_toml("cheap", kinds=["chat"], models=["cheap-*"], backends=["fake"], cache={"enabled": False}),
    ])


def start(make_gateway, fake, *, auth: str | None = "keys", capped_usd: float = 1.0, **limits):
    if auth is not None:
        limits["auth"] = auth
    return make_gateway(policies={"10-limits.toml": policies(fake.base_url, capped_usd=capped_usd)},
                        fakes={"a": fake}, limits=limits)


# ------------------------------------------------------------------ expectations from the fake


def prompt_upper_bound(body: dict) -> int:
    """The reservation's prompt tokens: UTF-8 bytes of message text + 4 per message + 3."""
    messages = body["messages"]
    return sum(len(m["content"].encode("utf-8")) for m in messages) + 4 * len(messages) + 3


def fake_usage(body: dict) -> tuple[int, int]:
    """(prompt_tokens, completion_tokens) the fake reports for a chat body."""
    messages = body["messages"]
    prompt = fu._prompt_tokens_chat(messages)
    completion = len(fu.split_chunks(fu.expected_chat_text(messages, body.get("max_tokens"))))
    return prompt, completion


def priced_cost(body: dict) -> float:
    prompt, completion = fake_usage(body)
    return prompt * IN_PRICE / 1e6 + completion * OUT_PRICE / 1e6


def priced_reservation(body: dict, default_max_tokens: int = 4096) -> float:
    out = body.get("max_tokens", default_max_tokens)
    return prompt_upper_bound(body) * IN_PRICE / 1e6 + out * OUT_PRICE / 1e6


# ------------------------------------------------------------------ helpers


def create_key(gw, **fields) -> dict:
    fields.setdefault("tenant", unique("tenant"))
    response = gw.admin("POST", "/admin/keys", fields)
    assert response.status_code == 201, f"POST /admin/keys {fields} -> {response.status_code} {response.text[:300]}"
    body = response.json()
    assert body.get("key", "").startswith("tg-"), f"the new key must be shown as 'tg-…': {body!r}"
    assert body.get("id", "").startswith("vk_"), f"the key id must be 'vk_…': {body!r}"
    return body


def key_info(gw, key_id: str) -> dict:
    response = gw.admin("GET", f"/admin/keys/{key_id}")
    assert response.status_code == 200, f"GET /admin/keys/{key_id} -> {response.status_code} {response.text[:300]}"
    return response.json()


def only_budget(info: dict) -> dict:
    budgets = info.get("usage", {}).get("budgets")
    assert isinstance(budgets, list) and len(budgets) == 1, f"expected exactly one budget in usage: {info!r}"
    return budgets[0]


def ledger_rows(gw, *, key_id: str | None = None, request_id: str | None = None) -> list[dict]:
    path = gw.workdir / "data" / "spend.sqlite"
    assert path.exists(), f"the spend ledger {path} does not exist"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        db.row_factory = sqlite3.Row
        query, args = "SELECT * FROM spend WHERE 1=1", []
        if key_id is not None:
            query += " AND key_id = ?"
            args.append(key_id)
        if request_id is not None:
            query += " AND request_id = ?"
            args.append(request_id)
        return [dict(row) for row in db.execute(query, args)]
    finally:
        db.close()


def cost_header(response) -> float:
    value = response.headers.get("x-tollgate-cost-usd")
    assert value is not None, f"no x-tollgate-cost-usd header (status {response.status_code})"
    assert re.fullmatch(r"\d+\.\d{8}", value), f"x-tollgate-cost-usd should have 8 decimals: {value!r}"
    return float(value)


def saved_header(response) -> float:
    value = response.headers.get("x-tollgate-saved-usd")
    assert value is not None, f"no x-tollgate-saved-usd header (status {response.status_code})"
    assert re.fullmatch(r"\d+\.\d{8}", value), f"x-tollgate-saved-usd should have 8 decimals: {value!r}"
    return float(value)


def error_code(response) -> str | None:
    return assert_openai_error(response, response.status_code)["code"]


def metrics(gw):
    response = gw.admin("GET", "/metrics")
    assert response.status_code == 200, response.text[:300]
    return parse_metrics(response.text)


def next_utc_midnights() -> set[str]:
    """Next UTC midnight as ISO text (both candidates if the test straddles midnight)."""
    out = set()
    for _ in range(2):
        now = dt.datetime.now(dt.timezone.utc)
        midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        out.add(midnight.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return out


# ------------------------------------------------------------------ 1. keys mode


def test_keys_mode_authentication(make_gateway, fake):
    gw = start(make_gateway, fake, auth="keys")
    assert gw.get("/healthz", api_key=None).status_code == 200, "/healthz needs no key"

    for api_key, what in [(None, "no key"), ("sk-not-a-virtual-key", "a non-tg key"),
                          ("tg-" + "0" * 40, "an unknown tg- key")]:
        response = gw.chat(chat_body(unique("auth")), api_key=api_key)
        assert_openai_error(response, 401, what=f"keys mode, {what}")
        assert response.json()["error"]["code"] == "invalid_api_key", f"{what}: {response.text[:300]}"

    created = create_key(gw, models=["fake-chat*"])
    secret, key_id = created["key"], created["id"]
    assert gw.chat(chat_body(unique("ok")), api_key=secret).status_code == 200

    refused = gw.chat(chat_body(unique("glob"), model="fake-other"), api_key=secret)
    assert_openai_error(refused, 403, what="a model outside the key's globs")
    assert refused.json()["error"]["code"] == "model_not_allowed", refused.text[:300]

    listing = gw.admin("GET", "/admin/keys")
    assert listing.status_code == 200, listing.text[:300]
    assert listing.json().get("object") == "list", listing.text[:300]
    assert any(k.get("id") == key_id for k in listing.json()["data"]), f"{key_id} not listed: {listing.text[:500]}"
    assert secret not in listing.text, "GET /admin/keys must never show the secret key"
    assert secret not in gw.admin("GET", f"/admin/keys/{key_id}").text, "GET /admin/keys/{id} shows the secret"

    for suffix in ("", "-wal"):
        stored = gw.workdir / "data" / f"keys.sqlite{suffix}"
        if suffix == "":
            assert stored.exists(), f"the keys file {stored} does not exist"
        if stored.exists():
            assert secret.encode() not in stored.read_bytes(), f"{stored.name} stores the plain key"
            assert secret[3:].encode() not in stored.read_bytes(), f"{stored.name} stores the key's secret part"

    # One keep-alive connection: 200, revoke, then 401 on the very same connection.
    body = json.dumps(chat_body(unique("ka"))).encode()
    request = (f"POST {CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
        sock.sendall(request)
        first = read_raw_response(sock, timeout=10)
        assert first.status == 200 and not first.closed, f"first request on the connection: {first}"
        revoked = gw.admin("DELETE", f"/admin/keys/{key_id}")
        assert revoked.status_code == 200, revoked.text[:300]
        assert revoked.json().get("id") == key_id and revoked.json().get("revoked") is True, revoked.text[:300]
        sock.sendall(request.replace(b"ka-", b"kb-"))
        second = read_raw_response(sock, timeout=10)
    assert second.status == 401, f"a revoked key on the same keep-alive connection: {second.status} {second.body[:300]!r}"
    assert json.loads(second.body)["error"]["code"] == "invalid_api_key"
    after = gw.chat(chat_body(unique("rv")), api_key=secret)
    assert_openai_error(after, 401, what="a revoked key")
    assert gw.admin("DELETE", "/admin/keys/vk_doesnotexist").status_code == 404

    failures = metric_sum(metrics(gw), lambda name, labels: name.startswith("tollgate_auth_failures_total"))
    assert failures >= 5, f"tollgate_auth_failures_total should count the 401s, got {failures}"



def test_a_cached_answer_is_not_served_to_a_key_that_may_not_use_its_model(make_gateway, fake):
    gw = start(make_gateway, fake, auth="keys")
    tenant = unique("tenant")
    everything = create_key(gw, tenant=tenant)
    narrow = create_key(gw, tenant=tenant, models=["fake-other*"])
    body = chat_body(unique("shared-entry"))
    assert gw.chat(body, api_key=everything["key"]).status_code == 200
    hit = gw.chat(body, api_key=everything["key"])
    assert hit.status_code == 200 and cache_status(hit).hit, hit.headers.get("cache-status")
    # The same bytes from a key of the same tenant (same cache scope) that may not use the model.
    refused = gw.chat(body, api_key=narrow["key"])
    assert_openai_error(refused, 403, what="a byte-identical repeat from a key limited to other models")
    assert refused.json()["error"]["code"] == "model_not_allowed"

# ------------------------------------------------------------------ 2. open mode


def test_open_mode_keys_optional_but_limits_apply(make_gateway, fake):
    gw = start(make_gateway, fake, auth=None)  # [limits] without auth: auto, open on loopback
    assert gw.chat(chat_body(unique("nokey")), api_key=None).status_code == 200
    assert gw.chat(chat_body(unique("plain")), api_key="sk-anything").status_code == 200

    created = create_key(gw, rpm=2)
    assert [gw.chat(chat_body(unique("o")), api_key=created["key"]).status_code for _ in range(2)] == [200, 200]
    refused = gw.chat(chat_body(unique("o3")), api_key=created["key"])
    assert_openai_error(refused, 429, what="open mode, tg- key past its rpm")
    assert refused.headers.get("x-tollgate-limit") == f"key:{created['id']}:requests", dict(refused.headers)
    assert gw.chat(chat_body(unique("after")), api_key="sk-anything").status_code == 200, \
        "a request without a virtual key is not limited by someone else's key"
    unknown = gw.chat(chat_body(unique("unk")), api_key="tg-" + "1" * 40)
    assert_openai_error(unknown, 401, what="open mode, an unknown tg- key")


# ------------------------------------------------------------------ 3. rpm


def test_rpm_headers_and_429(make_gateway, fake):
    gw = start(make_gateway, fake)
    created = create_key(gw, rpm=3)
    for expected_remaining in (2, 1, 0):
        response = gw.chat(chat_body(unique("rpm")), api_key=created["key"])
        assert response.status_code == 200, response.text[:300]
        assert response.headers.get("x-ratelimit-limit-requests") == "3", dict(response.headers)
        assert response.headers.get("x-ratelimit-remaining-requests") == str(expected_remaining), dict(response.headers)
        reset = response.headers.get("x-ratelimit-reset-requests", "")
        assert reset and RESET_FORMAT.match(reset), f"x-ratelimit-reset-requests looks like '20s': {reset!r}"

    refused = gw.chat(chat_body(unique("rpm4")), api_key=created["key"])
    error = assert_openai_error(refused, 429, what="fourth request at rpm=3")
    assert error["code"] == "rate_limit_exceeded", error
    assert "request" in error["message"].lower(), f"the message should name the requests limit: {error['message']!r}"
    retry_after = refused.headers.get("retry-after", "")
    assert retry_after.isdigit() and int(retry_after) >= 1, f"Retry-After: {retry_after!r}"
    assert refused.headers.get("retry-after-ms", "").isdigit(), dict(refused.headers)
    assert refused.headers.get("x-tollgate-limit") == f"key:{created['id']}:requests", dict(refused.headers)
    assert refused.headers.get("x-ratelimit-remaining-requests") == "0", dict(refused.headers)

    rejections = metric_sum(metrics(gw), lambda name, labels: name.startswith("tollgate_limit_rejections_total"))
    assert rejections >= 1, "tollgate_limit_rejections_total should count the 429"

    import openai

    sdk_key = create_key(gw, rpm=1)
    client = gw.openai(api_key=sdk_key["key"], max_retries=0)
    client.chat.completions.create(**chat_body(unique("sdk1")))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(**chat_body(unique("sdk2")))
    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded", caught.value.body


# ------------------------------------------------------------------ 4. tpm


def test_tpm_refuses_a_prompt_larger_than_what_remains(make_gateway, fake):
    gw = start(make_gateway, fake)
    created = create_key(gw, tpm=400)
    big = "abcd " * 200  # 1000 bytes, 200 fake tokens: one fits in 400 tokens a minute, two do not

    def ask(marker):
        body = {"model": "fake-chat", "max_tokens": 2,
                "messages": [{"role": "user", "content": f"{marker} {big}"}]}
        return gw.chat(body, api_key=created["key"])

    first = ask(unique("tpm1"))
    assert first.status_code == 200, first.text[:300]
    for name in ("limit", "remaining", "reset"):
        assert first.headers.get(f"x-ratelimit-{name}-tokens"), f"x-ratelimit-{name}-tokens missing: {dict(first.headers)}"
    assert first.headers["x-ratelimit-limit-tokens"] == "400"
    assert int(first.headers["x-ratelimit-remaining-tokens"]) < 400

    second = ask(unique("tpm2"))
    error = assert_openai_error(second, 429, what="a prompt larger than the remaining tokens")
    assert error["code"] == "rate_limit_exceeded", error
    assert "token" in error["message"].lower(), f"the message should name the tokens limit: {error['message']!r}"
    assert second.headers.get("x-tollgate-limit") == f"key:{created['id']}:tokens", dict(second.headers)
    assert second.headers.get("x-ratelimit-limit-tokens") == "400", dict(second.headers)
    assert second.headers.get("retry-after", "").isdigit(), dict(second.headers)


# ------------------------------------------------------------------ 5. no overshoot under concurrency


def test_200_concurrent_requests_never_overshoot_the_budget(make_gateway, fake):
    gw = start(make_gateway, fake)
    per_request = 2 * OUTONLY_PRICE / 1e6  # max_tokens=2 on "outonly": reserved == charged == $2
    budget = 50 * per_request
    created = create_key(gw, budgets=[{"usd": budget, "period": "total"}])
    secret = created["key"]

    async def fire():
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=60, trust_env=False) as client:
            async def one(i):
                body = chat_body(unique(f"c{i:03d}"), model="out-chat", max_tokens=2)
                return await client.post(gw.url + CHAT, json=body, headers={"Authorization": f"Bearer {secret}"})
            return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(200))), 90)

    responses = asyncio.run(fire())
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert 1 <= len(ok) <= 50, f"{len(ok)} requests succeeded on a budget that affords 50"
    for response in refused:
        assert response.status_code == 429 and error_code(response) == "budget_exceeded", \
            f"{response.status_code} {response.text[:300]}"
    header_sum = sum(cost_header(r) for r in ok)

    rows = ledger_rows(gw, key_id=created["id"])
    ledger_sum = sum(row["cost_usd"] for row in rows)
    assert len(rows) == len(ok), f"{len(rows)} ledger rows for {len(ok)} successes"
    assert ledger_sum <= budget + 1e-9, f"spent {ledger_sum} over the {budget} budget"
    assert abs(ledger_sum - header_sum) < 1e-6, f"ledger {ledger_sum} != cost headers {header_sum}"
    usage = only_budget(key_info(gw, created["id"]))
    assert abs(usage["spent_usd"] - ledger_sum) < 1e-6, f"admin spent {usage} != ledger {ledger_sum}"
    assert usage["reserved_usd"] == 0, f"nothing should stay reserved: {usage}"


# ------------------------------------------------------------------ 6. streams settle from the usage chunk


def test_streams_are_settled_from_the_final_usage_chunk(make_gateway, fake):
    gw = start(make_gateway, fake)
    created = create_key(gw)
    for include_usage in (False, True):
        body = chat_body(unique("stream"), stream=True, max_tokens=3)
        if include_usage:
            body["stream_options"] = {"include_usage": True}
        result = gw.stream(CHAT, body, api_key=created["key"])
        assert result.status == 200 and result.done and result.error is None, (result.status, result.raw[-300:])
        assert "x-tollgate-cost-usd" not in result.headers, "a streamed miss cannot know its cost up front"
        chunks = [json.loads(e) for e in result.events if e != "[DONE]"]
        usage_chunks = [c for c in chunks if c.get("usage")]
        prompt, completion = fake_usage(body)
        if include_usage:
            assert len(usage_chunks) == 1 and usage_chunks[-1]["usage"]["prompt_tokens"] == prompt, usage_chunks
            assert usage_chunks[-1]["usage"]["completion_tokens"] == completion
        else:
            assert not usage_chunks, f"the client did not ask for usage but got it: {usage_chunks}"
            assert all(c.get("choices") for c in chunks), "the usage chunk (choices: []) must be stripped"
        upstream = fake.requests(path=CHAT, contains=body["messages"][-1]["content"])
        assert upstream and (upstream[-1].json.get("stream_options") or {}).get("include_usage") is True, \
            "the gateway should ask upstream for include_usage"
        rows = ledger_rows(gw, request_id=result.headers.get("x-request-id"))
        assert len(rows) == 1, f"one ledger row per streamed request (include_usage={include_usage}): {rows}"
        assert (rows[0]["prompt_tokens"], rows[0]["completion_tokens"]) == (prompt, completion), rows[0]
        assert abs(rows[0]["cost_usd"] - priced_cost(body)) < 1e-9, (rows[0], priced_cost(body))
        assert rows[0]["key_id"] == created["id"] and rows[0]["route"] == "priced", rows[0]


# ------------------------------------------------------------------ 7. cache hits are free


def test_cache_hits_are_free_and_report_the_saving(make_gateway, fake):
    gw = start(make_gateway, fake)
    created = create_key(gw, budgets=[{"usd": 10, "period": "total"}])
    body = chat_body(unique("hit"), max_tokens=4)
    saved_before = metric_sum(metrics(gw), lambda n, l: n.startswith("tollgate_saved_usd_total") and l.get("key") == created["id"])

    first = gw.chat(body, api_key=created["key"])
    assert first.status_code == 200 and not cache_status(first).hit, first.headers.get("cache-status")
    assert abs(cost_header(first) - priced_cost(body)) < 1e-9, (first.headers["x-tollgate-cost-usd"], priced_cost(body))
    assert saved_header(first) == 0
    second = gw.chat(body, api_key=created["key"])
    assert second.status_code == 200 and cache_status(second).hit, second.headers.get("cache-status")
    assert second.headers.get("x-tollgate-cost-usd") == "0.00000000"
    assert second.headers.get("x-tollgate-saved-usd") == first.headers["x-tollgate-cost-usd"]

    rows = ledger_rows(gw, key_id=created["id"])
    assert len(rows) == 1, f"a cache hit adds no ledger row: {rows}"
    assert abs(only_budget(key_info(gw, created["id"]))["spent_usd"] - cost_header(first)) < 1e-9
    samples = metrics(gw)
    saved_after = metric_sum(samples, lambda n, l: n.startswith("tollgate_saved_usd_total") and l.get("key") == created["id"])
    assert abs(saved_after - saved_before - cost_header(first)) < 1e-6, (saved_before, saved_after)
    spent = metric_sum(samples, lambda n, l: n.startswith("tollgate_cost_usd_total") and l.get("key") == created["id"]
                       and l.get("route") == "priced")
    assert abs(spent - cost_header(first)) < 1e-6, f"tollgate_cost_usd_total for the key: {spent}"


def test_hits_are_charged_when_the_config_says_so(make_gateway, fake):
    gw = start(make_gateway, fake, cache_hits_free=False)
    body = chat_body(unique("paid-hit"), max_tokens=4)
    created = create_key(gw, budgets=[{"usd": 10, "period": "total"}])
    first = gw.chat(body, api_key=created["key"])
    assert first.status_code == 200 and not cache_status(first).hit, first.text[:300]
    second = gw.chat(body, api_key=created["key"])
    assert second.status_code == 200 and cache_status(second).hit, second.headers.get("cache-status")
    assert cost_header(second) == pytest.approx(cost_header(first)), "a charged hit costs what the call did"
    assert saved_header(second) == 0
    rows = ledger_rows(gw, key_id=created["id"])
    assert len(rows) == 2 and all(r["cost_usd"] == pytest.approx(cost_header(first)) for r in rows), rows
    assert only_budget(key_info(gw, created["id"]))["spent_usd"] == pytest.approx(2 * cost_header(first))
    # Another key of the same tenant finds the entry, but its budget cannot pay for the hit.
    poor = create_key(gw, tenant=created["tenant"], budgets=[{"usd": cost_header(first) / 2, "period": "total"}])
    refused = gw.chat(body, api_key=poor["key"])
    assert refused.status_code == 429 and error_code(refused) == "budget_exceeded", refused.text[:300]

def test_collapsed_follower_pays_nothing(make_gateway, fake):
    gw = start(make_gateway, fake)
    created = create_key(gw, budgets=[{"usd": 10, "period": "total"}])
    fake.set_model_behavior("fake-collapse", "slow", header_delay=0.6)
    body = chat_body(unique("collapse"), model="fake-collapse", max_tokens=4)
    results: list = [None, None]

    def call(i):
        results[i] = gw.chat(body, api_key=created["key"])

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(2)]
    threads[0].start()
    fake.wait_for_count(1, path=CHAT, contains=body["messages"][-1]["content"], timeout=5)
    threads[1].start()
    for thread in threads:
        thread.join(15)
    assert all(r is not None and r.status_code == 200 for r in results), results
    assert fake.count(path=CHAT, contains=body["messages"][-1]["content"]) == 1, "the two requests should collapse"
    costs = sorted(cost_header(r) for r in results)
    assert costs[0] == 0 and abs(costs[1] - priced_cost(body)) < 1e-9, f"leader pays, follower pays 0: {costs}"
    follower = next(r for r in results if cost_header(r) == 0)
    assert abs(saved_header(follower) - priced_cost(body)) < 1e-9, dict(follower.headers)
    assert abs(only_budget(key_info(gw, created["id"]))["spent_usd"] - priced_cost(body)) < 1e-9


# ------------------------------------------------------------------ 8. budget fallback


def test_budget_fallback_route_serves_what_the_budget_refuses(make_gateway, fake):
    body = chat_body(unique("fb"), model="capped-chat", max_tokens=4)
    # Room for one worst case, but not for a second one once the first has been charged.
    gw = start(make_gateway, fake, capped_usd=round(priced_reservation(body) + priced_cost(body) / 2, 6))
    created = create_key(gw)

    first = gw.chat(body, api_key=created["key"])
    assert first.status_code == 200, first.text[:300]
    assert "x-tollgate-budget-fallback" not in first.headers, "the first request fits route capped's budget"
    assert cost_header(first) > 0

    second = gw.chat(chat_body(unique("fb2"), model="capped-chat", max_tokens=4), api_key=created["key"])
    assert second.status_code == 200, f"the budget fallback should serve it: {second.status_code} {second.text[:300]}"
    fallback = second.headers.get("x-tollgate-budget-fallback", "")
    assert re.fullmatch(r"route=cheap; budget=route:capped:day", fallback), f"x-tollgate-budget-fallback: {fallback!r}"
    assert second.headers.get("x-tollgate-cost-usd") == "0.00000000", "route cheap has no price"
    rows = ledger_rows(gw, key_id=created["id"])
    assert [row["route"] for row in rows if row["route"] == "capped"] == ["capped"], rows
    assert all(row["cost_usd"] == 0 for row in rows if row["route"] == "cheap"), rows
    assert only_budget({"usage": route_spend(gw, "capped")})["spent_usd"] == pytest.approx(cost_header(first), abs=1e-9)


def route_spend(gw, route: str) -> dict:
    response = gw.admin("GET", "/admin/spend", params={"route": route})
    assert response.status_code == 200, response.text[:300]
    return response.json()


# ------------------------------------------------------------------ 9. kill -9 durability


def test_ledger_survives_kill_9(make_gateway, fake):
    gw = start(make_gateway, fake)
    created = create_key(gw, budgets=[{"usd": 1000, "period": "total"}])
    received: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    threads_n = 8

    def load(worker):
        with httpx.Client(timeout=10, trust_env=False) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    response = client.post(gw.url + CHAT, json=chat_body(unique(f"k{worker}-{n}"), max_tokens=3),
                                           headers={"Authorization": f"Bearer {created['key']}"})
                except httpx.HTTPError:
                    return  # the gateway is gone
                if response.status_code == 200:
                    with lock:
                        received[response.headers["x-request-id"]] = response.headers["x-tollgate-cost-usd"]

    workers = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(threads_n)]
    for worker in workers:
        worker.start()
    harness_deadline = time.monotonic() + 10
    while len(received) < 20 and time.monotonic() < harness_deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    gw.stop(signal.SIGKILL)
    stop.set()
    for worker in workers:
        worker.join(15)
    assert len(received) >= 20, f"the load got only {len(received)} answers before the kill"

    rows = {row["request_id"]: row for row in ledger_rows(gw, key_id=created["id"])}
    missing = [rid for rid in received if rid not in rows]
    assert not missing, f"{len(missing)} answered requests are not in the ledger, e.g. {missing[:3]}"
    for rid, cost in received.items():
        assert abs(rows[rid]["cost_usd"] - float(cost)) < 5e-9, (rid, cost, rows[rid])
    unseen = set(rows) - set(received)
    assert len(unseen) <= threads_n, f"{len(unseen)} ledger rows no client saw, with only {threads_n} in flight"
    ledger_sum = sum(row["cost_usd"] for row in rows.values())

    gw.start()
    info = key_info(gw, created["id"])
    budget = only_budget(info)
    assert abs(budget["spent_usd"] - ledger_sum) < 1e-9, f"after restart spent {budget} != ledger {ledger_sum}"
    assert budget["reserved_usd"] == 0, budget
    assert abs(info["usage"]["spent_total_usd"] - ledger_sum) < 1e-9, info["usage"]


# ------------------------------------------------------------------ 10. CLI


def test_keys_and_spend_cli(make_gateway, fake):
    gw = start(make_gateway, fake)
    admin = ("--admin", gw.admin_url, "--token", ADMIN_TOKEN)

    def cli(*args):
        result = gw.cli(*args, *admin, timeout=30)
        assert result.returncode == 0, f"tollgate {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)

    created = cli("keys", "create", "--tenant", "t", "--rpm", "5", "--budget-usd", "1", "--period", "day")
    secret, key_id = created["key"], created["id"]
    assert secret.startswith("tg-") and created["tenant"] == "t" and created["rpm"] == 5, created
    listed = cli("keys", "list")
    assert any(k["id"] == key_id for k in listed["data"]) and secret not in json.dumps(listed), listed
    assert cli("keys", "show", key_id)["id"] == key_id

    body = chat_body(unique("cli"), max_tokens=2)
    assert gw.chat(body, api_key=secret).status_code == 200
    spend = cli("spend", "--key", key_id)
    assert abs(spend["budgets"][0]["spent_usd"] - priced_cost(body)) < 1e-9, spend
    assert abs(spend["spent_total_usd"] - priced_cost(body)) < 1e-9, spend
    totals = cli("spend")
    assert any(k["id"] == key_id and k["requests"] == 1 for k in totals["keys"]), totals

    cli("spend", "reset", "--key", key_id)
    assert cli("spend", "--key", key_id)["budgets"][0]["spent_usd"] == 0, "spend reset zeroes the budget"
    revoked = cli("keys", "revoke", key_id)
    assert revoked.get("revoked") is True, revoked
    assert_openai_error(gw.chat(chat_body(unique("cli2")), api_key=secret), 401, what="after keys revoke")


# ------------------------------------------------------------------ 11. budget refusals


def test_budget_exceeded_details(make_gateway, fake):
    gw = start(make_gateway, fake)
    body = chat_body(unique("day"), max_tokens=2)
    one_only = round(priced_reservation(body) + priced_cost(body) / 2, 6)  # one worst case fits, not two
    day = create_key(gw, budgets=[{"usd": one_only, "period": "day"}], soft_threshold=0.1)
    assert gw.chat(body, api_key=day["key"]).status_code == 200
    refused = gw.chat(chat_body(unique("day2"), max_tokens=2), api_key=day["key"])
    error = assert_openai_error(refused, 429, what="day budget spent")
    assert error["code"] == "budget_exceeded", error
    name = f"key:{day['id']}:day"
    assert refused.headers.get("x-tollgate-budget") == name, dict(refused.headers)
    reset = refused.headers.get("x-tollgate-budget-reset")
    assert reset in next_utc_midnights(), f"a day budget resets at the next UTC midnight, got {reset!r}"
    seconds_left = (dt.datetime.fromisoformat(reset.replace("Z", "+00:00")) - dt.datetime.now(dt.timezone.utc)).total_seconds()
    retry_after = refused.headers.get("retry-after", "")
    assert retry_after.isdigit() and abs(int(retry_after) - seconds_left) <= 5, (retry_after, seconds_left)
    assert reset in error["message"] and "dai" in error["message"].lower(), error["message"]
    alert = metric_sum(metrics(gw), lambda n, l: n.startswith("tollgate_budget_alert") and l.get("budget") == name)
    assert alert == 1, f"tollgate_budget_alert{{budget={name!r}}} should be 1 past the soft threshold, got {alert}"

    total = create_key(gw, budgets=[{"usd": one_only, "period": "total"}])
    assert gw.chat(chat_body(unique("tot"), max_tokens=2), api_key=total["key"]).status_code == 200
    refused = gw.chat(chat_body(unique("tot2"), max_tokens=2), api_key=total["key"])
    assert refused.status_code == 429 and error_code(refused) == "budget_exceeded", refused.text[:300]
    assert refused.headers.get("x-tollgate-budget") == f"key:{total['id']}:total", dict(refused.headers)
    assert "x-tollgate-budget-reset" not in refused.headers, "a total budget never resets"


def test_reservation_is_the_worst_case_of_the_prompt_bytes(make_gateway, fake):
    gw = start(make_gateway, fake, default_max_tokens=100)
    fits = chat_body(unique("fit"), max_tokens=2)
    budget = priced_reservation(fits) + 0.5 * IN_PRICE / 1e6  # half a prompt token to spare
    created = create_key(gw, budgets=[{"usd": budget, "period": "total"}])
    one_byte_more = chat_body(unique("fit") + "x", max_tokens=2)
    assert prompt_upper_bound(one_byte_more) == prompt_upper_bound(fits) + 1
    refused = gw.chat(one_byte_more, api_key=created["key"])
    assert refused.status_code == 429 and error_code(refused) == "budget_exceeded", \
        f"one byte over the budget's worth of worst case: {refused.status_code} {refused.text[:300]}"
    assert gw.chat(fits, api_key=created["key"]).status_code == 200, "exactly the budget's worth of worst case fits"

    no_max = chat_body(unique("dflt"))  # reserves default_max_tokens = 100 completion tokens
    enough = create_key(gw, budgets=[{"usd": priced_reservation(no_max, 100) + 0.0005, "period": "total"}])
    short = create_key(gw, budgets=[{"usd": priced_reservation(no_max, 100) - 0.0015, "period": "total"}])
    assert gw.chat(no_max, api_key=enough["key"]).status_code == 200
    refused = gw.chat(chat_body(unique("dflt")), api_key=short["key"])
    assert refused.status_code == 429 and error_code(refused) == "budget_exceeded", refused.text[:300]


# ------------------------------------------------------------------ tabular rows


def test_predict_rows_reserve_their_exact_cost_and_cached_rows_are_free(make_gateway):
    model = REPO_ROOT / "models" / "iris-forest.onnx"
    policy = (toml_table("[backends.iris-priced]", {"type": "forest", "file": str(model), "price_per_1k_rows": 1000.0})
              + route_toml("iris-priced", kinds=["predict"], models=["iris"], backends=["iris-priced"],
                           cache={"enabled": True}))
    gw = make_gateway(policies={"10-iris.toml": policy}, limits={"auth": "keys"})
    created = create_key(gw, rpm=10, budgets=[{"usd": 3.0, "period": "total"}])  # $1 a row: three rows
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]

    first = gw.post("/v1/predict", {"model": "iris", "inputs": rows}, api_key=created["key"])
    assert first.status_code == 200, first.text[:300]
    assert cost_header(first) == pytest.approx(2.0)
    assert first.headers.get("x-ratelimit-remaining-requests") == "9", dict(first.headers)

    # Two new rows need $2 and only $1 is left.
    refused = gw.post("/v1/predict", {"model": "iris", "inputs": [[5.9, 3.0, 4.2, 1.5], [6.0, 2.2, 5.0, 1.5]]},
                      api_key=created["key"])
    assert refused.status_code == 429 and error_code(refused) == "budget_exceeded", refused.text[:300]

    # The same rows again come from the cache: nothing to reserve, nothing charged.
    again = gw.post("/v1/predict", {"model": "iris", "inputs": rows}, api_key=created["key"])
    assert again.status_code == 200, again.text[:300]
    assert cost_header(again) == 0 and saved_header(again) == pytest.approx(2.0)

    # One new row fits exactly what is left.
    last = gw.post("/v1/predict", {"model": "iris", "inputs": [[5.9, 3.0, 4.2, 1.5]]}, api_key=created["key"])
    assert last.status_code == 200 and cost_header(last) == pytest.approx(1.0), last.text[:300]
    rows_in_ledger = ledger_rows(gw, key_id=created["id"])
    assert sorted(round(r["cost_usd"], 9) for r in rows_in_ledger) == [1.0, 2.0], rows_in_ledger
    assert only_budget(key_info(gw, created["id"]))["spent_usd"] == pytest.approx(3.0)

    assert gw.post("/v1/predict", {"model": "iris", "inputs": rows}).status_code == 401, "a key is required"
