#!/usr/bin/env python3
"""Single-row prediction latency through the gateway, and concurrent throughput.

Serves the benchmark random forest (.bench/forest/rf.onnx, written by
scripts/bench/forest_reference.py: 100 trees, depth 10, 4 classes, 32 features) from the
release `tollgate`, then with wrk on loopback measures:

  1. one connection, one row per request, every row computed (`Cache-Control: no-store`),
     inline on the event loop (the default for a model this cheap) and on the engine thread;
  2. one connection, the same row again (a row-cache hit, answered on the event loop);
  3. one connection, `GET /healthz` (the HTTP floor of the same server);
  4. 32 connections, one row per request, computed: throughput with micro-batching.

Reference in the same run: onnxruntime's in-process single-row latency on the same file
(session.run on a 1x32 float32 array, intra_op_num_threads 1), which a Python serving stack
would add its HTTP layer to. Prints a Markdown table. Bounded: each wrk run lasts --seconds.

Usage: python3 scripts/bench/predict_gateway.py [--binary .build/release/tollgate] [--seconds 8]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from gateway_vs_nginx import free_port, wait_http, wrk  # noqa: E402


def onnxruntime_latency(model, row, seconds):
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    x = np.array([row], dtype=np.float32)
    name = session.get_inputs()[0].name
    for _ in range(200):
        session.run(None, {name: x})
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter_ns()
        session.run(None, {name: x})
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return {"p50": samples[len(samples) // 2], "p99": samples[int(len(samples) * 0.99)], "n": len(samples)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/tollgate"))
    ap.add_argument("--bench-dir", default=os.path.join(ROOT, ".bench/forest"))
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median round is reported")
    args = ap.parse_args()

    model = os.path.join(args.bench_dir, "rf.onnx")
    if not os.path.exists(model):
        sys.exit(f"{model} is missing: run python3 scripts/bench/forest_reference.py first")
    import numpy as np

    rows = np.fromfile(os.path.join(args.bench_dir, "X.f32"), dtype="<f4").reshape(-1, 32)
    row = [float(v) for v in rows[0]]

    work = tempfile.mkdtemp(prefix="tollgate-predict-bench-")
    os.makedirs(os.path.join(work, "policies"))
    port, admin = free_port(), free_port()
    with open(os.path.join(work, "config.toml"), "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:{port}"\nadmin_listen = "127.0.0.1:{admin}"\nthreads = 2\n'
                f'policies_dir = "policies"\nwatch_policies = false\n[cache]\ndisk_path = ""\n'
                f'[log]\naccess_log = false\nlevel = "warning"\n')
    with open(os.path.join(work, "policies", "bench.toml"), "w") as f:
        f.write(f'[backends.rf]\ntype = "forest"\nfile = "{model}"\n\n[[routes]]\nname = "rf"\n'
                f'kinds = ["predict"]\nmodels = ["rf"]\nbackends = ["rf"]\n\n'
                f'[backends.rf-engine]\ntype = "forest"\nfile = "{model}"\ninline_max_us = 0\n\n'
                f'[[routes]]\nname = "rf-engine"\nkinds = ["predict"]\nmodels = ["rf-engine"]\n'
                f'backends = ["rf-engine"]\n')
    gateway = subprocess.Popen([args.binary, "serve", "--config", os.path.join(work, "config.toml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        body = json.dumps({"model": "rf", "inputs": [row]})
        wait_http(base + "/v1/predict", method="POST", data=body.encode(), headers={"Content-Type": "application/json"})
        os.environ["BENCH_BODY"] = body
        engine_body = json.dumps({"model": "rf-engine", "inputs": [row]})
        rounds = {"computed": [], "engine": [], "hit": [], "health": [], "concurrent": []}
        for _ in range(args.rounds):
            rounds["computed"].append(wrk(base + "/v1/predict", 1, 1, args.seconds, headers=["Cache-Control: no-store"]))
            os.environ["BENCH_BODY"] = engine_body
            rounds["engine"].append(wrk(base + "/v1/predict", 1, 1, args.seconds, headers=["Cache-Control: no-store"]))
            os.environ["BENCH_BODY"] = body
            rounds["hit"].append(wrk(base + "/v1/predict", 1, 1, args.seconds))
            rounds["health"].append(subprocess.run(
                ["wrk", "-t1", "-c1", f"-d{args.seconds}s", "--latency", base + "/healthz"],
                capture_output=True, text=True, timeout=args.seconds + 30).stdout)
            rounds["concurrent"].append(
                wrk(base + "/v1/predict", 2, 32, args.seconds, headers=["Cache-Control: no-store"]))
    finally:
        gateway.terminate()
        gateway.wait(10)
    ort = onnxruntime_latency(model, row, 3)

    def pct(text, p):
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == f"{p}%":
                value = parts[1]
                scale = {"us": 1, "ms": 1000, "s": 1e6}
                for unit in ("us", "ms", "s"):
                    if value.endswith(unit):
                        return float(value[: -len(unit)]) * scale[unit]
        return float("nan")


    def median_round(results):
        return sorted(results, key=lambda r: r["p50"])[len(results) // 2]

    computed = median_round(rounds["computed"])
    engine = median_round(rounds["engine"])
    hit = median_round(rounds["hit"])
    concurrent = median_round(rounds["concurrent"])
    health = sorted(rounds["health"], key=lambda text: pct(text, 50))[len(rounds["health"]) // 2]
    print(f"median of {args.rounds} interleaved rounds of {args.seconds} s each")
    print("| measurement | p50 µs | p99 µs | requests/s |")
    print("|---|---:|---:|---:|")
    print(f"| onnxruntime in-process, 1 row (reference) | {ort['p50']:.1f} | {ort['p99']:.1f} | — |")
    print(f"| gateway `GET /healthz`, 1 connection (HTTP floor) | {pct(health, 50):.0f} | {pct(health, 99):.0f} | — |")
    print(f"| gateway `/v1/predict` 1 row computed, 1 connection | {computed['p50']} | {computed['p99']} | "
          f"{computed['rps']:,.0f} |")
    print(f"| gateway `/v1/predict` 1 row computed on the engine thread (`inline_max_us = 0`), 1 connection | "
          f"{engine['p50']} | {engine['p99']} | {engine['rps']:,.0f} |")
    print(f"| gateway `/v1/predict` 1 row cached, 1 connection | {hit['p50']} | {hit['p99']} | {hit['rps']:,.0f} |")
    print(f"| gateway `/v1/predict` 1 row computed, 32 connections | {concurrent['p50']} | {concurrent['p99']} | "
          f"{concurrent['rps']:,.0f} |")
    for name, result in (("computed", computed), ("engine", engine), ("cached", hit), ("concurrent", concurrent)):
        if result["errors"] or result["non2xx"]:
            print(f"warning: {name}: {result['errors']} errors, {result['non2xx']} non-2xx", file=sys.stderr)


if __name__ == "__main__":
    main()
