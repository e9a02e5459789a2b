#!/usr/bin/env python3
"""What keys, rate limits and budgets add to a request: the same Tollgate with and without them.

Starts nginx (Debian) as a static upstream answering every POST with a fixed OpenAI-shaped
completion (with usage), and two release `tollgate` processes routed to it:

  plain    open mode, a route with no price and no limits;
  limited  keys mode: a virtual key with rpm, tpm and a budget, a tenant with the same, and a
           priced route with the same, so each request is authenticated, passes three
           requests-per-minute and three tokens-per-minute windows, reserves on three budgets,
           and settles in the SQLite ledger before its response completes.

Limits are set far above what the run can reach, so nothing is refused. With wrk on loopback,
one connection, interleaved rounds: misses (`Cache-Control: no-store`, every request goes
upstream and is settled) and hits (the same POST answered from the cache). Prints the median
round's p50/p99 for each and the difference. Bounded: each wrk run lasts --seconds.
Usage: swift build -c release && python3 scripts/bench/limits_overhead.py [--seconds 5 --rounds 3]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from gateway_vs_nginx import COMPLETION, free_port, wait_http, wrk  # noqa: E402

BIG = 10**9


def write_gateway(work, name, upstream_port, limited):
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, "policies"), exist_ok=True)
    port, admin = free_port(), free_port()
    config = (f'[server]\nlisten = "127.0.0.1:{port}"\nadmin_listen = "127.0.0.1:{admin}"\nadmin_token = "bench"\n'
              f'watch_policies = false\n[cache]\ndisk_path = "cache.sqlite"\n[log]\naccess_log = false\nlevel = "warning"\n')
    route = ('[[routes]]\nname = "bench"\nkinds = ["chat"]\nmodels = ["*"]\nbackends = ["origin"]\n')
    if limited:
        config += (f'[limits]\nauth = "keys"\n[limits.tenants.bench]\nrpm = {BIG}\ntpm = {BIG}\n'
                   f'budgets = [{{ usd = {BIG}, period = "day" }}]\n')
        route += (f'price_per_1m_input_tokens = 2.5\nprice_per_1m_output_tokens = 10\n'
                  f'limits = {{ rpm = {BIG}, tpm = {BIG}, budgets = [{{ usd = {BIG}, period = "month" }}] }}\n')
    else:
        config += '[limits]\nauth = "open"\n'
    open(os.path.join(root, "config.toml"), "w").write(config)
    open(os.path.join(root, "policies", "bench.toml"), "w").write(
        f'[backends.origin]\nurl = "http://127.0.0.1:{upstream_port}/v1"\n\n' + route)
    return root, port, admin


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/tollgate"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (apt-get install nginx-light wrk)")

    work = tempfile.mkdtemp(prefix="tollgate-limits-bench-")
    os.chmod(work, 0o755)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
        os.chmod(os.path.join(work, d), 0o777)
    upstream_port, proxy_port = free_port(), free_port()
    body = json.dumps(COMPLETION, separators=(",", ":"))
    conf = open(os.path.join(HERE, "nginx.conf.template")).read()
    conf = (conf.replace("__DIR__", work).replace("__UPSTREAM_PORT__", str(upstream_port))
            .replace("__PROXY_PORT__", str(proxy_port)).replace("__BODY__", body.replace("'", "\\'")))
    open(os.path.join(work, "nginx.conf"), "w").write(conf)
    plain_dir, plain_port, _ = write_gateway(work, "plain", upstream_port, limited=False)
    limited_dir, limited_port, limited_admin = write_gateway(work, "limited", upstream_port, limited=True)

    procs = []
    try:
        procs.append(subprocess.Popen(["nginx", "-c", os.path.join(work, "nginx.conf"), "-g", "daemon off;"],
                                      stderr=open(os.path.join(work, "nginx-stderr.log"), "w")))
        for root in (plain_dir, limited_dir):
            procs.append(subprocess.Popen([args.binary, "serve", "--config", os.path.join(root, "config.toml")],
                                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "gw.log"), "w")))
        wait_http(f"http://127.0.0.1:{plain_port}/healthz")
        wait_http(f"http://127.0.0.1:{limited_port}/healthz")
        request = urllib.request.Request(
            f"http://127.0.0.1:{limited_admin}/admin/keys", method="POST",
            data=json.dumps({"tenant": "bench", "rpm": BIG, "tpm": BIG,
                             "budgets": [{"usd": BIG, "period": "week"}]}).encode(),
            headers={"Authorization": "Bearer bench", "Content-Type": "application/json"})
        key = json.loads(urllib.request.urlopen(request, timeout=10).read())["key"]
        post = json.dumps({"model": "bench-model", "messages": [
            {"role": "user", "content": "What is the capital of France?"}], "temperature": 0}).encode()
        targets = {"plain": (plain_port, "Bearer bench-key"), "limited": (limited_port, f"Bearer {key}")}
        for name, (port, auth) in targets.items():
            for _ in range(2):  # warm, and check the second is a hit
                _, headers, answer = wait_http(f"http://127.0.0.1:{port}/v1/chat/completions", method="POST",
                                               data=post, headers={"Content-Type": "application/json",
                                                                   "Authorization": auth})
            assert "hit" in headers.get("cache-status", ""), (name, headers)
            assert json.loads(answer) == COMPLETION

        def run(name, miss):
            port, auth = targets[name]
            os.environ["BENCH_AUTH"] = auth
            return wrk(f"http://127.0.0.1:{port}/v1/chat/completions", 1, 1, args.seconds,
                       headers=["Cache-Control: no-store"] if miss else [])

        summary = {}
        for mode, miss in (("miss", True), ("hit", False)):
            pairs = []
            for _ in range(args.rounds):
                plain, limited = run("plain", miss), run("limited", miss)
                for r in (plain, limited):
                    if r["errors"] or r["non2xx"]:
                        sys.exit(f"{mode}: errors in a round: {r}")
                pairs.append((limited["p50"] - plain["p50"], plain, limited))
            print(f"{mode} rounds (added p50 µs):", [p[0] for p in pairs])
            pairs.sort(key=lambda p: p[0])
            summary[mode] = pairs[len(pairs) // 2]
        spent = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{limited_admin}/admin/spend", headers={"Authorization": "Bearer bench"}), timeout=10).read()
        print("limited gateway's ledger:", json.loads(spent)["keys"])

        print()
        print(f"Machine: {os.cpu_count()} cores; wrk -t1 -c1 -d{args.seconds}s, median of {args.rounds} interleaved rounds.")
        print()
        print("| path, 1 connection | without limits (reference) p50 / p99 | with key + limits + budgets p50 / p99 | **added at p50** | added at p99 |")
        print("|---|---:|---:|---:|---:|")
        for mode, label in (("miss", "miss (`no-store`, settled in the ledger)"), ("hit", "cache hit")):
            _, plain, limited = summary[mode]
            print(f"| {label} | {plain['p50']} / {plain['p99']} µs | {limited['p50']} / {limited['p99']} µs | "
                  f"**{limited['p50'] - plain['p50']} µs** | {limited['p99'] - plain['p99']} µs |")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
