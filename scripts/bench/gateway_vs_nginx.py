#!/usr/bin/env python3
"""Cache-hit throughput and miss overhead: Tollgate against nginx, same run, same machine.

Starts nginx (Debian) twice over: as a static upstream that answers every POST with a fixed
OpenAI-shaped completion, and as a caching reverse proxy keyed on the POST body in front of
it. Starts the release `tollgate` routed to the same upstream. Then, with wrk on loopback:

  1. cache hits: the same POST again and again, nginx proxy_cache vs Tollgate;
  2. miss overhead: one connection, Tollgate with `Cache-Control: no-store` (every request
     goes upstream) vs calling the static upstream directly.

Prints a Markdown table for docs/benchmarks.md. Bounded: each wrk run lasts --seconds.
Usage: python3 scripts/bench/gateway_vs_nginx.py [--binary .build/release/tollgate]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

COMPLETION = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "bench-model",
    "choices": [{
        "index": 0,
        "message": {"role": "assistant", "content": "The capital of France is Paris. " * 8},
        "logprobs": None,
        "finish_reason": "stop",
    }],
    "usage": {"prompt_tokens": 14, "completion_tokens": 64, "total_tokens": 78},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=20.0, method="GET", data=None, headers=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
            with urllib.request.urlopen(req, timeout=2) as r:
                return r.status, dict(r.headers), r.read()
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def wrk(url, threads, connections, seconds, headers=()):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
           os.path.join(HERE, "post.lua")]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"RESULT requests_per_sec=([\d.]+) p50_us=(\d+) p90_us=(\d+) p99_us=(\d+) errors=(\d+) non2xx=(\d+)", out)
    if not m:
        raise RuntimeError("wrk gave no result:\n" + out)
    rps, p50, p90, p99, errors, non2xx = m.groups()
    return {"rps": float(rps), "p50": int(p50), "p90": int(p90), "p99": int(p99),
            "errors": int(errors), "non2xx": int(non2xx)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/tollgate"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (apt-get install nginx-light wrk)")

    work = tempfile.mkdtemp(prefix="tollgate-bench-")
    os.chmod(work, 0o755)  # nginx workers drop to an unprivileged user when started as root
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache", "policies"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
        os.chmod(os.path.join(work, d), 0o777)
    upstream_port, proxy_port, gw_port, admin_port = (free_port() for _ in range(4))
    body = json.dumps(COMPLETION, separators=(",", ":"))
    conf = open(os.path.join(HERE, "nginx.conf.template")).read()
    conf = (conf.replace("__DIR__", work).replace("__UPSTREAM_PORT__", str(upstream_port))
            .replace("__PROXY_PORT__", str(proxy_port)).replace("__BODY__", body.replace("'", "\\'")))
    open(os.path.join(work, "nginx.conf"), "w").write(conf)
    open(os.path.join(work, "config.toml"), "w").write(
        f'[server]\nlisten = "127.0.0.1:{gw_port}"\nadmin_listen = "127.0.0.1:{admin_port}"\n'
        f'watch_policies = false\n[cache]\ndisk_path = "cache.sqlite"\n[log]\naccess_log = false\nlevel = "warning"\n')
    open(os.path.join(work, "policies", "bench.toml"), "w").write(
        f'[backends.origin]\nurl = "http://127.0.0.1:{upstream_port}/v1"\n\n'
        '[[routes]]\nname = "bench"\nkinds = ["chat"]\nmodels = ["*"]\nbackends = ["origin"]\n')

    procs = []
    try:
        procs.append(subprocess.Popen(["nginx", "-c", os.path.join(work, "nginx.conf"), "-g", "daemon off;"],
                                      stderr=open(os.path.join(work, "nginx-stderr.log"), "w")))
        procs.append(subprocess.Popen([args.binary, "serve", "--config", os.path.join(work, "config.toml")],
                                      stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "gw.log"), "w")))
        post = json.dumps({"model": "bench-model", "messages": [
            {"role": "user", "content": "What is the capital of France?"}], "temperature": 0}).encode()
        hdrs = {"Content-Type": "application/json", "Authorization": "Bearer bench-key"}
        wait_http(f"http://127.0.0.1:{gw_port}/healthz")
        # Warm both caches and check that the second request is a hit on each.
        for _ in range(2):
            _, nh, nb = wait_http(f"http://127.0.0.1:{proxy_port}/v1/chat/completions", method="POST", data=post, headers=hdrs)
            _, th, tb = wait_http(f"http://127.0.0.1:{gw_port}/v1/chat/completions", method="POST", data=post, headers=hdrs)
        assert nh.get("X-Cache-Status") == "HIT", nh
        assert "hit" in th.get("cache-status", ""), th
        assert json.loads(nb) == json.loads(tb) == COMPLETION

        results = {"nginx": [], "tollgate": []}
        for _ in range(args.rounds):
            results["nginx"].append(wrk(f"http://127.0.0.1:{proxy_port}/v1/chat/completions", 2, args.connections, args.seconds))
            results["tollgate"].append(wrk(f"http://127.0.0.1:{gw_port}/v1/chat/completions", 2, args.connections, args.seconds))
        # Miss overhead: interleaved rounds, the round with the median difference is reported.
        pairs = []
        for _ in range(args.rounds):
            d = wrk(f"http://127.0.0.1:{upstream_port}/v1/chat/completions", 1, 1, args.seconds)
            t = wrk(f"http://127.0.0.1:{gw_port}/v1/chat/completions", 1, 1, args.seconds,
                    headers=["Cache-Control: no-store"])
            pairs.append((t["p50"] - d["p50"], d, t))
        pairs.sort(key=lambda p: p[0])
        _, direct, through = pairs[len(pairs) // 2]
        print("miss rounds (added p50 µs):", [p[0] for p in pairs])

        best = {k: max(v, key=lambda r: r["rps"]) for k, v in results.items()}
        n, t = best["nginx"], best["tollgate"]
        print(f"nginx    hits: {n}")
        print(f"tollgate hits: {t}")
        print(f"direct upstream (1 conn): {direct}")
        print(f"tollgate miss, no-store (1 conn): {through}")
        cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
        print()
        print(f"Machine: {os.cpu_count()} cores, {cpu}; wrk -t2 -c{args.connections} -d{args.seconds}s, best of {args.rounds}.")
        print()
        print("| cache hits, same POST | requests/s | p50 | p90 | p99 | errors |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, r in (("nginx proxy_cache (reference)", n), ("Tollgate", t)):
            print(f"| {name} | {r['rps']:,.0f} | {r['p50']} µs | {r['p90']} µs | {r['p99']} µs | {r['errors'] + r['non2xx']} |")
        print(f"| **ratio Tollgate / nginx** | **{t['rps'] / n['rps']:.2f}x** | {t['p50'] / n['p50']:.2f}x | {t['p90'] / n['p90']:.2f}x | {t['p99'] / n['p99']:.2f}x | |")
        print()
        print("| miss path, 1 connection | requests/s | p50 | p99 |")
        print("|---|---:|---:|---:|")
        print(f"| upstream called directly (reference) | {direct['rps']:,.0f} | {direct['p50']} µs | {direct['p99']} µs |")
        print(f"| through Tollgate (`Cache-Control: no-store`) | {through['rps']:,.0f} | {through['p50']} µs | {through['p99']} µs |")
        print(f"| **added by Tollgate** | | **{through['p50'] - direct['p50']} µs** | {through['p99'] - direct['p99']} µs |")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get("BENCH_KEEP"):
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
