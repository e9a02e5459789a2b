"""The admin plane: cache stats, purge by selector, list/inspect, auth, metrics, and the
``tollgate cache`` subcommands that call it."""

from __future__ import annotations

import json
import time

import pytest

import fake_upstream as fu
from harness import (
    ADMIN_TOKEN,
    CLIENT_KEY,
    assert_openai_error,
    cache_status,
    chat_body,
    metric_sum,
    parse_metrics,
    standard_policies,
    tenant_id,
    unique,
)

CHAT = "/v1/chat/completions"


def store(gateway, marker: str, model: str = "fake-chat", api_key: str | None = CLIENT_KEY) -> str:
    """Make a request that is stored; return its cache key."""
    response = gateway.chat(chat_body(marker, model=model), api_key=api_key)
    assert response.status_code == 200, response.text
    status = cache_status(response)
    assert status.stored or status.hit, f"expected the answer to be stored: {status}"
    key = response.headers.get("x-tollgate-cache-key") or status.key
    assert key, "no cache key in x-tollgate-cache-key or Cache-Status"
    return key


def hits(gateway, marker: str, model: str = "fake-chat", api_key: str | None = CLIENT_KEY) -> bool:
    response = gateway.chat(chat_body(marker, model=model), api_key=api_key)
    assert response.status_code == 200, response.text
    return cache_status(response).hit


# ------------------------------------------------------------------ stats and auth


def test_stats(gateway):
    store(gateway, unique("stats"))
    response = gateway.admin("GET", "/admin/cache/stats")
    assert response.status_code == 200, response.text
    stats = response.json()
    assert isinstance(stats.get("memory"), dict), f"stats.memory must be an object: {stats!r}"
    assert isinstance(stats.get("disk"), dict), f"stats.disk must be an object: {stats!r}"
    assert isinstance(stats.get("inflight"), int), f"stats.inflight must be an integer: {stats!r}"
    assert stats["memory"].get("entries", 0) >= 1, f"memory.entries should count the stored entry: {stats!r}"
    assert stats["memory"].get("bytes", 0) > 0, f"memory.bytes should be positive: {stats!r}"


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_admin_refuses_without_the_token(gateway, token):
    marker = unique("auth")
    store(gateway, marker)
    for method, path, body in [("GET", "/admin/cache/stats", None), ("GET", "/admin/cache/entries", None),
                               ("POST", "/admin/cache/purge", {"all": True}), ("GET", "/admin/policies", None),
                               ("POST", "/admin/policies/reload", None)]:
        response = gateway.admin(method, path, body, token=token)
        assert_openai_error(response, 401, what=f"{method} {path} with token={token!r}")
    assert hits(gateway, marker), "a refused purge must not have purged anything"


def test_admin_token_from_environment(make_gateway, fake):
    gw = make_gateway(policies={"10-standard.toml": standard_policies(fake.base_url)}, admin_token=None,
                      env={"TOLLGATE_ADMIN_TOKEN": "env-admin-token"})
    assert_openai_error(gw.admin("GET", "/admin/cache/stats", token=None), 401,
                        what="config token empty, TOLLGATE_ADMIN_TOKEN set, no token sent")
    assert gw.admin("GET", "/admin/cache/stats", token="env-admin-token").status_code == 200


def test_admin_open_on_loopback_without_any_token(make_gateway, fake):
    gw = make_gateway(policies={"10-standard.toml": standard_policies(fake.base_url)}, admin_token=None)
    response = gw.admin("GET", "/admin/cache/stats", token=None)
    assert response.status_code == 200, f"no token configured and bound to loopback: open, got {response.status_code}"


def test_data_plane_does_not_serve_admin(gateway):
    response = gateway.get("/admin/cache/stats")
    assert response.status_code in (401, 404), "the admin API lives on its own port"


# ------------------------------------------------------------------ purge by selector


def test_purge_by_model_removes_exactly_that_model(gateway, fake):
    model_a, model_b = f"fake-pm-{unique('a')}", f"fake-pm-{unique('b')}"
    m1, m2, m3 = unique("pm1"), unique("pm2"), unique("pm3")
    store(gateway, m1, model_a)
    store(gateway, m2, model_a)
    other_tenant = unique("tenant")
    store(gateway, m1, model_a, api_key=other_tenant)
    store(gateway, m3, model_b)
    assert gateway.purge(model=model_a) == 3, "purge by model counts every tenant's entries for that model"
    assert not hits(gateway, m1, model_a) and not hits(gateway, m2, model_a)
    assert not hits(gateway, m1, model_a, api_key=other_tenant)
    assert hits(gateway, m3, model_b), "another model's entry must survive"
    assert gateway.purge(model=model_a + "-nothing") == 0


def test_purge_by_model_glob(gateway):
    stem = f"fake-glob-{unique('g')}"
    store(gateway, unique("g1"), stem + "-x")
    store(gateway, unique("g2"), stem + "-y")
    survivor = unique("g3")
    store(gateway, survivor, "fake-chat")
    assert gateway.purge(model=stem + "-*") == 2
    assert hits(gateway, survivor)


def test_purge_by_key_and_key_prefix(gateway):
    m1, m2, m3 = unique("k1"), unique("k2"), unique("k3")
    k1, k2 = store(gateway, m1), store(gateway, m2)
    store(gateway, m3)
    assert gateway.purge(key=k1) == 1
    assert gateway.purge(key=k1) == 0, "purging the same key twice removes nothing the second time"
    assert gateway.purge(key_prefix=k2[:12]) == 1
    assert not hits(gateway, m1) and not hits(gateway, m2)
    assert hits(gateway, m3)


def test_purge_by_route(gateway):
    m1, m2, survivor = unique("r1"), unique("r2"), unique("r3")
    store(gateway, m1, "rp-one")
    store(gateway, m2, "rp-two")
    store(gateway, survivor, "fake-chat")
    assert gateway.purge(route="route-purge") == 2
    assert not hits(gateway, m1, "rp-one") and not hits(gateway, m2, "rp-two")
    assert hits(gateway, survivor)


def test_purge_by_tenant(gateway):
    tenant_x, tenant_y = unique("tx"), unique("ty")
    m1, m2 = unique("t1"), unique("t2")
    store(gateway, m1, api_key=tenant_x)
    store(gateway, m2, api_key=tenant_x)
    store(gateway, m1, api_key=tenant_y)
    assert gateway.purge(tenant=tenant_id(tenant_x)) == 2
    assert not hits(gateway, m1, api_key=tenant_x) and not hits(gateway, m2, api_key=tenant_x)
    assert hits(gateway, m1, api_key=tenant_y), "the other tenant's entry must survive"


def test_purge_by_tag(gateway):
    m1, m2, survivor = unique("tag1"), unique("tag2"), unique("tag3")
    store(gateway, m1, "tg-one")
    store(gateway, m2, "tg-two")
    store(gateway, survivor, "fake-chat")
    assert gateway.purge(tag="purge-tag") == 2
    assert not hits(gateway, m1, "tg-one")
    assert hits(gateway, survivor)


def test_purge_selectors_combine(gateway):
    tenant = unique("combo")
    marker = unique("combo")
    store(gateway, marker, api_key=tenant)
    emb = {"model": "fake-embed", "input": f"combo {marker}", "encoding_format": "float"}
    assert gateway.post("/v1/embeddings", emb, api_key=tenant).status_code == 200
    assert gateway.purge(tenant=tenant_id(tenant), endpoint="embedding") == 1, (
        "every field set must match: tenant AND endpoint")
    assert hits(gateway, marker, api_key=tenant)
    assert not cache_status(gateway.post("/v1/embeddings", emb, api_key=tenant)).hit


def test_purge_older_than(gateway):
    tenant = unique("age")
    old, new = unique("old"), unique("new")
    store(gateway, old, api_key=tenant)
    time.sleep(2.5)
    store(gateway, new, api_key=tenant)
    assert gateway.purge(older_than=2, tenant=tenant_id(tenant)) == 1
    assert not hits(gateway, old, api_key=tenant)
    assert hits(gateway, new, api_key=tenant)


def test_purge_all(make_gateway, fake):
    gw = make_gateway(policies={"10-standard.toml": standard_policies(fake.base_url)})
    markers = [unique("all") for _ in range(3)]
    store(gw, markers[0])
    store(gw, markers[1], "fake-other")
    store(gw, markers[2], api_key=unique("tenant"))
    assert gw.purge(all=True) == 3
    stats = gw.admin("GET", "/admin/cache/stats").json()
    assert stats["memory"].get("entries", 0) == 0 and stats["disk"].get("entries", 0) == 0, stats
    assert not hits(gw, markers[0])
    assert fake.count(CHAT, contains=markers[0]) == 2


# ------------------------------------------------------------------ list and inspect


def test_list_entries(gateway):
    model = f"fake-list-{unique('m')}"
    marker = unique("list")
    before = time.time()
    key = store(gateway, marker, model)
    store(gateway, unique("list2"), model)
    store(gateway, unique("list3"), model, api_key=unique("other"))
    response = gateway.admin("GET", "/admin/cache/entries", params={"model": model})
    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert len(entries) == 3, f"three entries were stored for {model}: {entries!r}"
    entry = next(e for e in entries if e["key"] == key)
    fields = {"key", "tenant", "route", "endpoint", "model", "created_at", "expires_at", "age", "ttl", "tags", "bytes"}
    assert not fields - set(entry), f"entry lacks {sorted(fields - set(entry))}: {entry}"
    assert entry["model"] == model and entry["route"] == "chat" and entry["endpoint"] == "chat"
    assert entry["tenant"] == tenant_id(CLIENT_KEY)
    assert "team-a" in entry["tags"]
    assert before - 5 <= entry["created_at"] <= time.time() + 5, entry
    assert entry["expires_at"] > entry["created_at"]
    assert 0 < entry["ttl"] <= 3600 and entry["age"] >= 0 and entry["bytes"] > 0

    limited = gateway.admin("GET", "/admin/cache/entries", params={"model": model, "limit": 1}).json()["entries"]
    assert len(limited) == 1
    mine = gateway.admin("GET", "/admin/cache/entries",
                         params={"model": model, "tenant": tenant_id(CLIENT_KEY)}).json()["entries"]
    assert len(mine) == 2
    by_prefix = gateway.admin("GET", "/admin/cache/entries", params={"key_prefix": key[:16]}).json()["entries"]
    assert [e["key"] for e in by_prefix] == [key]


def test_inspect_entry(gateway):
    marker = unique("inspect")
    first = gateway.chat(chat_body(marker))
    key = first.headers["x-tollgate-cache-key"]
    response = gateway.admin("GET", f"/admin/cache/entries/{key}")
    assert response.status_code == 200, response.text
    entry = response.json()
    assert entry["key"] == key
    body = entry["body"]
    if isinstance(body, str):  # body may be given as a JSON string
        body = json.loads(body)
    assert body["choices"][0]["message"]["content"] == fu.chat_reply_text(chat_body(marker)["messages"])
    assert isinstance(entry["events"], int)

    streamed = gateway.stream(CHAT, chat_body(unique("inspect-sse"), stream=True))
    stream_key = streamed.headers["x-tollgate-cache-key"]
    detail = gateway.admin("GET", f"/admin/cache/entries/{stream_key}").json()
    assert detail["events"] >= len([e for e in streamed.events if e != "[DONE]"]) - 1 >= 1

    missing = gateway.admin("GET", "/admin/cache/entries/" + "0" * 64)
    assert_openai_error(missing, 404, what="inspect unknown key")


# ------------------------------------------------------------------ metrics


def test_metrics_count_requests_and_hits(gateway):
    def scrape():
        response = gateway.admin("GET", "/metrics")
        assert response.status_code == 200, response.text
        assert response.headers.get("content-type", "").startswith("text/plain"), response.headers
        assert "# TYPE" in response.text
        return parse_metrics(response.text)

    def requests(name, labels):
        return "request" in name and not name.endswith(("_bucket", "_sum"))

    def cache_hits(name, labels):
        if "cache" not in name or name.endswith(("_bucket", "_sum")):
            return False
        return ("hit" in name and "miss" not in name) or "hit" in labels.values()

    before = scrape()
    marker = unique("metrics")
    store(gateway, marker)
    assert hits(gateway, marker)
    after = scrape()
    assert metric_sum(after, requests) >= metric_sum(before, requests) + 2, (
        "a request counter (a metric with 'request' in its name) must count both requests")
    assert metric_sum(after, cache_hits) >= metric_sum(before, cache_hits) + 1, (
        "a cache-hit counter (a 'cache' metric named *hit* or labelled \"hit\") must count the hit")
    names = {name for name, _, _ in after}
    assert any("latency" in n or "duration" in n or "seconds" in n for n in names), (
        f"a latency histogram is expected among {sorted(names)[:40]}")


# ------------------------------------------------------------------ CLI


def test_cli_cache_stats(gateway):
    result = gateway.cli("cache", "stats", "--admin", gateway.admin_url, "--token", ADMIN_TOKEN)
    assert result.returncode == 0, f"rc={result.returncode}\nstdout={result.stdout}\nstderr={result.stderr}"
    stats = json.loads(result.stdout)
    assert "memory" in stats and "disk" in stats


def test_cli_cache_purge_by_model(gateway):
    model = f"fake-cli-{unique('m')}"
    m1, m2, survivor = unique("c1"), unique("c2"), unique("c3")
    store(gateway, m1, model)
    store(gateway, m2, model)
    store(gateway, survivor)
    result = gateway.cli("cache", "purge", "--admin", gateway.admin_url, "--token", ADMIN_TOKEN, "--model", model)
    assert result.returncode == 0, f"rc={result.returncode}\nstdout={result.stdout}\nstderr={result.stderr}"
    assert json.loads(result.stdout) == {"purged": 2}
    assert not hits(gateway, m1, model) and hits(gateway, survivor)


def test_cli_cache_purge_with_bad_token_fails(gateway):
    result = gateway.cli("cache", "purge", "--admin", gateway.admin_url, "--token", "nope", "--all")
    assert result.returncode != 0, "a refused admin call must make the CLI exit non-zero"
