"""Routing policies: reloads (admin, SIGHUP, file change), bad files, check-config,
fallbacks, upstream failures, weighted splits, aliases and prefix affinity."""

from __future__ import annotations

import re
import signal
import time

import pytest

import fake_upstream as fu
from harness import (
    Background,
    Gateway,
    assert_openai_error,
    backend_toml,
    cache_status,
    chat_body,
    closed_port,
    free_port,
    module_gateway,
    route_toml,
    toml_table,
    unique,
    wait_until,
)

CHAT = "/v1/chat/completions"
RELOAD_WAIT = 10.0


def base_policy(fake_url: str) -> str:
    return backend_toml("fake", fake_url) + "\n" + route_toml(
        "chat", kinds=["chat", "completion"], models=["fake-*"], backends=["fake"],
        cache={"enabled": True, "ttl_seconds": 600})


NEW_ROUTE = route_toml("new", kinds=["chat"], models=["new-*"], backends=["fake"], cache={"enabled": False})

SYNTAX_ERROR = '[backends.extra]\ntype = "openai"\nurl = "http://127.0.0.1:1/v1\n\n' + route_toml(
    "extra", kinds=["chat"], models=["extra-*"], backends=["extra"])
SYNTAX_ERROR_LINE = 3

UNKNOWN_BACKEND = "\n".join([
    "# a route that names a backend nobody defined",  # 1
    "[[routes]]",                                     # 2
    'name = "broken"',                                # 3
    'kinds = ["chat"]',                               # 4
    'models = ["broken-*"]',                          # 5
    'backends = ["nope"]',                            # 6
]) + "\n"
UNKNOWN_BACKEND_LINES = range(2, 7)


def status_of(gw: Gateway, model: str) -> int:
    return gw.chat(chat_body(unique("probe"), model=model), timeout=10).status_code


def serves(gw: Gateway, model: str) -> bool:
    return status_of(gw, model) == 200


def reload_gateway(make_gateway, fake, *, watch: bool) -> Gateway:
    return make_gateway(policies={"10-base.toml": base_policy(fake.base_url)}, server={"watch_policies": watch})


# ------------------------------------------------------------------ reloads


def test_admin_reload_picks_up_a_new_route(make_gateway, fake):
    gw = reload_gateway(make_gateway, fake, watch=False)
    assert status_of(gw, "new-model") == 404, "no route matches new-* yet"
    gw.write_policy("20-new.toml", NEW_ROUTE)
    response = gw.reload_policies()
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "reloaded", "routes": 2}
    assert serves(gw, "new-model")
    assert serves(gw, "fake-chat"), "the routes from the other file still serve"
    table = gw.admin("GET", "/admin/policies")
    assert table.status_code == 200
    assert '"new"' in table.text and '"chat"' in table.text, f"the effective table lists both routes: {table.text[:500]}"


def test_broken_policy_is_rejected_and_old_routes_keep_serving(make_gateway, fake):
    gw = reload_gateway(make_gateway, fake, watch=False)
    probe_marker = unique("steady")

    def probe() -> int:
        return gw.chat(chat_body(probe_marker), timeout=10).status_code

    with Background(probe, interval=0.02) as load:
        gw.write_policy("50-bad.toml", SYNTAX_ERROR)
        rejected = gw.reload_policies()
        assert rejected.status_code == 400, f"a syntax error must be rejected: {rejected.status_code} {rejected.text}"
        errors = rejected.json().get("errors")
        assert errors and isinstance(errors, list), f"rejection must list errors: {rejected.text}"
        error = errors[0]
        assert set(error) >= {"file", "line", "key", "reason"}, error
        assert str(error["file"]).endswith("50-bad.toml"), error
        assert error["line"] == SYNTAX_ERROR_LINE, f"syntax error is on line {SYNTAX_ERROR_LINE}: {error}"
        assert error["reason"], error

        gw.write_policy("50-bad.toml", UNKNOWN_BACKEND)
        rejected = gw.reload_policies()
        assert rejected.status_code == 400, rejected.text
        error = rejected.json()["errors"][0]
        assert str(error["file"]).endswith("50-bad.toml"), error
        assert error["line"] in UNKNOWN_BACKEND_LINES, f"line should point into the bad route (2-6): {error}"
        assert "nope" in error["reason"] or "nope" in str(error.get("key")), f"name the unknown backend: {error}"

        assert serves(gw, "fake-chat"), "the old table keeps serving"
        assert status_of(gw, "broken-x") == 404 and status_of(gw, "extra-x") == 404, (
            "nothing from a rejected reload may be active")
        time.sleep(0.3)
    assert not load.errors, f"requests failed during the bad reloads: {load.errors[:3]!r}"
    assert load.results and set(load.results) == {200}, f"statuses during the reloads: {sorted(set(load.results))}"

    gw.remove_policy("50-bad.toml")
    gw.write_policy("20-new.toml", NEW_ROUTE)
    assert gw.reload_policies().status_code == 200
    assert serves(gw, "new-model")


def test_sighup_reloads(make_gateway, fake):
    gw = reload_gateway(make_gateway, fake, watch=False)
    gw.write_policy("20-new.toml", NEW_ROUTE)
    time.sleep(0.5)
    assert status_of(gw, "new-model") == 404, "with watch_policies = false nothing reloads on its own"
    gw.send_signal(signal.SIGHUP)
    wait_until(lambda: serves(gw, "new-model"), RELOAD_WAIT, what="SIGHUP reload to add route new-*")

    gw.write_policy("50-bad.toml", UNKNOWN_BACKEND)
    gw.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    assert gw.process.poll() is None, "a bad file on SIGHUP must not stop the gateway"
    assert serves(gw, "new-model") and serves(gw, "fake-chat")


def test_file_change_reloads(make_gateway, fake):
    gw = reload_gateway(make_gateway, fake, watch=True)
    gw.write_policy("20-new.toml", NEW_ROUTE)
    wait_until(lambda: serves(gw, "new-model"), RELOAD_WAIT, what="file watcher to add route new-*")

    # an in-place edit of an existing file
    (gw.policies_dir / "20-new.toml").write_text(NEW_ROUTE.replace('"new-*"', '"newer-*"'))
    wait_until(lambda: serves(gw, "newer-model") and status_of(gw, "new-model") == 404, RELOAD_WAIT,
               what="file watcher to pick up the edit")

    # a broken file is ignored, the previous table keeps serving
    gw.write_policy("50-bad.toml", SYNTAX_ERROR)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        assert serves(gw, "newer-model") and serves(gw, "fake-chat"), "old routes must keep serving"
        time.sleep(0.2)
    assert gw.process.poll() is None


# ------------------------------------------------------------------ check-config


def _config_dir(tollgate_bin, tmp_path, fake, extra: dict[str, str]) -> Gateway:
    gw = Gateway(tollgate_bin, tmp_path / "check", policies={"10-base.toml": base_policy(fake.base_url), **extra})
    gw.port, gw.admin_port = free_port(), free_port()
    gw.write_config()
    return gw


def test_check_config_accepts_a_good_config(tollgate_bin, tmp_path, fake):
    gw = _config_dir(tollgate_bin, tmp_path, fake, {"20-new.toml": NEW_ROUTE})
    result = gw.cli("check-config", "--config", str(gw.config_path))
    assert result.returncode == 0, f"good config rejected:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("text,lines", [(SYNTAX_ERROR, [SYNTAX_ERROR_LINE]), (UNKNOWN_BACKEND, list(UNKNOWN_BACKEND_LINES))],
                         ids=["syntax-error", "unknown-backend"])
def test_check_config_reports_file_and_line(tollgate_bin, tmp_path, fake, text, lines):
    gw = _config_dir(tollgate_bin, tmp_path, fake, {"50-bad.toml": text})
    result = gw.cli("check-config", "--config", str(gw.config_path))
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"a bad policy must fail check-config:\n{output}"
    found = [int(n) for n in re.findall(r"50-bad\.toml:(\d+)", output)]
    assert found, f"check-config must print file:line for the problem:\n{output}"
    assert any(n in lines for n in found), f"expected line in {lines}, got {found}:\n{output}"


# ------------------------------------------------------------------ routing behaviour (one shared gateway)


@pytest.fixture(scope="module")
def router(request, tmp_path_factory, tollgate_bin, fake, fake_b):
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    no_cache = {"enabled": False}
    text = "\n".join([
        backend_toml("primary", fake.base_url),
        backend_toml("secondary", fake_b.base_url),
        backend_toml("dead", dead, connect_timeout_seconds=1),
        backend_toml("hanger", fake.base_url, timeout_seconds=1),
        backend_toml("weighted_a", fake.base_url),
        backend_toml("weighted_b", fake_b.base_url),
        backend_toml("pool", None, replicas=[fake.base_url, fake_b.base_url], affinity="prefix",
                     affinity_prefix_chars=200),
        backend_toml("breaker", fake.base_url,
                     circuit_breaker={"failure_threshold": 2, "cooldown_seconds": 60, "half_open_probes": 1}),
        backend_toml("aliased", fake.base_url),
        backend_toml("retrying", fake.base_url),
        route_toml("fallback", kinds=["chat"], models=["fb-*"], backends=["primary"], fallbacks=["secondary"],
                   fallback_on=[503, "timeout", "connect_error"], cache=no_cache),
        route_toml("fallback-connect", kinds=["chat"], models=["fbc-*"], backends=["dead"], fallbacks=["secondary"],
                   fallback_on=["connect_error"], cache=no_cache),
        route_toml("down", kinds=["chat"], models=["down-*"], backends=["dead"], cache=no_cache),
        route_toml("hang", kinds=["chat"], models=["hang-*"], backends=["hanger"], timeout_seconds=5, cache=no_cache),
        route_toml("split", kinds=["chat"], models=["split-*"],
                   backends=[{"backend": "weighted_a", "weight": 3}, {"backend": "weighted_b", "weight": 1}],
                   cache=no_cache),
        route_toml("affinity", kinds=["chat"], models=["aff-*"], backends=["pool"], cache=no_cache),
        route_toml("breaker", kinds=["chat"], models=["cb-*"], backends=["breaker"], fallbacks=["secondary"],
                   fallback_on=[503, "timeout", "connect_error"], cache=no_cache),
        route_toml("aliased", kinds=["chat"], models=["alias-target"], backends=["aliased"], cache=no_cache),
        route_toml("retry", kinds=["chat"], models=["retry-*"], backends=["retrying"], cache=no_cache,
                   retry={"attempts": 3, "backoff_ms": 20, "max_backoff_ms": 100, "on": [502, 503, "connect_error"]}),
        toml_table("[aliases]", {"friendly": "alias-target"}),
    ])
    return module_gateway(request, tmp_path_factory, tollgate_bin, fakes={"a": fake, "b": fake_b},
                          policies={"10-routing.toml": text})


def test_fallback_on_503_serves_from_the_second_backend(router, fake, fake_b):
    marker = unique("fallback")
    fake.set_model_behavior("fb-model", "fail", status=503)
    response = router.chat(chat_body(marker, model="fb-model"))
    assert response.status_code == 200, f"fallback should have answered: {response.status_code} {response.text}"
    assert fake.count(CHAT, contains=marker) >= 1, "the primary was tried first"
    assert fake_b.count(CHAT, contains=marker) == 1, "the fallback backend served the request"
    assert response.json()["system_fingerprint"] == "fp_b"
    assert response.json()["choices"][0]["message"]["content"] == fu.chat_reply_text(
        chat_body(marker)["messages"])


def test_fallback_on_connect_error(router, fake_b):
    marker = unique("fallback-connect")
    response = router.chat(chat_body(marker, model="fbc-model"))
    assert response.status_code == 200, response.text
    assert fake_b.count(CHAT, contains=marker) == 1


def test_no_fallback_status_is_passed_through(router, fake, fake_b):
    marker = unique("fallback-400")
    fake.set_model_behavior("fb-model", "fail", status=400)
    response = router.chat(chat_body(marker, model="fb-model"))
    assert_openai_error(response, 400, what="400 is not in fallback_on")
    assert fake_b.count(CHAT, contains=marker) == 0


def test_upstream_down_is_502(router):
    start = time.monotonic()
    response = router.chat(chat_body(unique("down"), model="down-model"))
    error = assert_openai_error(response, 502, what="closed upstream port")
    assert time.monotonic() - start < 8, "a refused connection fails fast"
    assert error["message"]


def test_upstream_hang_is_504_and_upstream_request_is_cancelled(router, fake):
    marker = unique("hang")
    fake.set_model_behavior("hang-model", "hang")
    start = time.monotonic()
    response = router.chat(chat_body(marker, model="hang-model"), timeout=20)
    elapsed = time.monotonic() - start
    assert_openai_error(response, 504, what="upstream never answers, backend timeout 1 s")
    assert elapsed < 8, f"the 1 s backend timeout should give 504 quickly, took {elapsed:.1f}s"
    assert fake.wait_for_client_close(contains=marker, timeout=5), (
        "after the timeout the gateway must close its upstream request")


def test_weighted_split_follows_weights(router, fake, fake_b):
    stem = unique("split")
    for i in range(40):
        response = router.chat(chat_body(f"{stem}-{i}", model="split-model"))
        assert response.status_code == 200, response.text
        assert cache_status(response).fwd == "bypass", cache_status(response)
    a, b = fake.count(CHAT, contains=stem), fake_b.count(CHAT, contains=stem)
    assert a + b == 40
    assert a >= 20 and b >= 3 and a > b, f"weights 3:1 over 40 requests gave {a}:{b}"


def test_prefix_affinity_keeps_a_conversation_on_one_replica(router, fake, fake_b):
    stem = unique("aff")
    filler = "You are a careful assistant that answers in one sentence. " * 6
    families = 16
    for family in range(families):
        system = f"family {family} {stem}. {filler}"
        for turn in range(3):
            body = {"model": "aff-model", "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": f"turn {turn} of family {family} in {stem}"},
            ]}
            assert router.chat(body).status_code == 200
    placements = []
    for family in range(families):
        tag = f"family {family} {stem}."
        on_a, on_b = fake.count(CHAT, contains=tag), fake_b.count(CHAT, contains=tag)
        assert on_a + on_b == 3
        assert on_a in (0, 3), f"family {family} was split across replicas ({on_a} on a, {on_b} on b)"
        placements.append("a" if on_a else "b")
    assert set(placements) == {"a", "b"}, f"16 prefixes should not all hash to one replica: {placements}"


def test_circuit_breaker_stops_calling_a_failing_backend(router, fake, fake_b):
    stem = unique("breaker")
    fake.set_model_behavior("cb-model", "fail", status=503)
    for i in range(3):
        assert router.chat(chat_body(f"{stem}-warm-{i}", model="cb-model")).status_code == 200
    calls = fake.count(CHAT, model="cb-model")
    for i in range(5):
        response = router.chat(chat_body(f"{stem}-open-{i}", model="cb-model"))
        assert response.status_code == 200, response.text
    assert fake.count(CHAT, model="cb-model") == calls, "an open breaker must not send requests to the backend"
    assert fake_b.count(CHAT, contains=stem) == 8


def test_alias_maps_public_name(router, fake):
    marker = unique("alias")
    response = router.chat(chat_body(marker, model="friendly"))
    assert response.status_code == 200, response.text
    sent = fake.requests(CHAT, contains=marker)
    assert sent and sent[0].json["model"] == "alias-target", "the alias resolves to the real model name upstream"


def test_retry_on_listed_status(router, fake):
    marker = unique("retry")
    fake.set_model_behavior("retry-model", "fail", status=503, times=1)
    response = router.chat(chat_body(marker, model="retry-model"))
    assert response.status_code == 200, f"one 503 then success should be retried: {response.status_code} {response.text}"
    assert fake.count(CHAT, contains=marker) == 2


def test_no_retry_on_unlisted_status(router, fake):
    marker = unique("no-retry")
    fake.set_model_behavior("retry-model", "fail", status=400)
    assert_openai_error(router.chat(chat_body(marker, model="retry-model")), 400, what="400 is not retried")
    assert fake.count(CHAT, contains=marker) == 1
