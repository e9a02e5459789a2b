#!/usr/bin/env python3
"""Local language model speed: the engine alone, through the gateway, and llama.cpp, same run.

For each random-weight model with Qwen2.5-0.5B shapes that `scripts/transformer_fixtures.py --bench
DIR` writes (Q8_0 and Q4_0, pure, 2 threads everywhere), in interleaved rounds:

  1. `tollgate bench llm`: prefill tokens/s on a 128-token prompt, decode tokens/s over 64 tokens,
     and the bandwidth bound (read bandwidth measured in the same process / model bytes);
  2. llama.cpp through llama-cpp-python on the same file (`transformer_fixtures.py --bench-llama`:
     wall clock around eval, the same prompt length and decode count);
  3. the release gateway serving the model: a streamed completion of 64 tokens (decode tokens/s
     from the first to the last content event), alone and while a paced client sends cache hits
     (--hits-per-second) to the same gateway, whose hit latency is reported too.

Prints a Markdown table and writes every figure as JSON (--json). Bounded: a few minutes in all.

Usage: python3 scripts/bench/llm_gateway.py --models /tmp/fxbench [--rounds 2] [--hits-per-second 200]
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from gateway_vs_nginx import free_port, wait_http  # noqa: E402

MODELS = ["bench-qwen2-0.5b-q8_0.gguf", "bench-qwen2-0.5b-q4_0.gguf"]


def engine_bench(binary, model, threads):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([binary, "bench", "llm", "--model", model, "--threads", str(threads), "--repeats", "2",
                        "--json", out.name], check=True, capture_output=True, timeout=600)
        return json.load(open(out.name))


def llama_bench(models_dir):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "transformer_fixtures.py"), "--bench-llama",
                          models_dir], check=True, capture_output=True, text=True, timeout=900).stdout
    return {r["file"]: r for r in json.loads(out)["results"]}


class Hits(threading.Thread):
    """Sends one cached request at a fixed rate on a keep-alive connection, recording latencies."""

    def __init__(self, port, body, rate):
        super().__init__(daemon=True)
        self.port, self.body, self.interval = port, body, 1.0 / rate
        self.stop_event = threading.Event()
        self.latencies = []
        self.errors = 0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        next_at = time.perf_counter()
        while not self.stop_event.is_set():
            start = time.perf_counter()
            try:
                conn.request("POST", "/v1/chat/completions", self.body,
                             {"Content-Type": "application/json", "Authorization": "Bearer bench"})
                response = conn.getresponse()
                response.read()
                if response.status != 200 or "hit" not in (response.getheader("cache-status") or ""):
                    self.errors += 1
                self.latencies.append((time.perf_counter() - start) * 1e6)
            except OSError:
                self.errors += 1
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            next_at += self.interval
            time.sleep(max(0.0, next_at - time.perf_counter()))


def timed_completion(port, prompt_tokens, max_tokens):
    """Seconds to the first streamed event and to the end of a streamed completion."""
    body = json.dumps({"model": "bench", "prompt": prompt_tokens, "max_tokens": max_tokens, "temperature": 0,
                       "ignore_eos": True, "stream": True})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json", "Authorization": "Bearer bench",
                                                   "Cache-Control": "no-store"})
    response = conn.getresponse()
    assert response.status == 200, response.read()[:300]
    first = None
    while chunk := response.read1(65536):
        if first is None:
            first = time.perf_counter()
    return first - start, time.perf_counter() - start


def stream_decode(port, prompt_tokens, decode_tokens):
    # Random-weight models emit many tokens with no text (events carry text), so decode speed is
    # taken from whole requests: (T(n tokens) - T(1 token)) / (n - 1), both with the same prompt.
    _, one = timed_completion(port, prompt_tokens, 1)
    ttft, full = timed_completion(port, prompt_tokens, decode_tokens)
    return {"ttft_s": one, "decode_tokens_per_s": (decode_tokens - 1) / max(1e-9, full - one)}


def gateway_bench(binary, model, hits_per_second):
    work = tempfile.mkdtemp(prefix="tollgate-llm-bench-")
    port, admin = free_port(), free_port()
    os.makedirs(os.path.join(work, "policies"))
    with open(os.path.join(work, "policies", "bench.toml"), "w") as f:
        f.write(f'[backends.bench]\ntype = "gguf"\nfile = "{model}"\nthreads = 2\ncontext_size = 512\n\n'
                '[[routes]]\nname = "bench"\nkinds = ["chat", "completion"]\nmodels = ["bench"]\nbackends = ["bench"]\n')
    with open(os.path.join(work, "config.toml"), "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:{port}"\nadmin_listen = "127.0.0.1:{admin}"\n'
                '[cache]\ndisk_path = ""\n[log]\naccess_log = false\nlevel = "warning"\n')
    proc = subprocess.Popen([binary, "serve", "--config", os.path.join(work, "config.toml")], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", timeout=120)
        prompt = [300 + (i * 7919) % 1100 for i in range(128)]
        hit_body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "cached"}], "max_tokens": 4})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request("POST", "/v1/chat/completions", hit_body, {"Content-Type": "application/json",
                                                                "Authorization": "Bearer bench"})
        conn.getresponse().read()  # stores the entry the paced client then hits
        stream_decode(port, prompt[:16], 4)  # warm-up
        alone = stream_decode(port, prompt, 64)
        hits = Hits(port, hit_body, hits_per_second)
        hits.start()
        time.sleep(0.5)
        loaded = stream_decode(port, prompt, 64)
        hits.stop_event.set()
        hits.join(10)
        lat = sorted(hits.latencies)
        return {"alone": alone, "with_hits": loaded, "hits_per_second": hits_per_second, "hits": len(lat),
                "hit_errors": hits.errors, "hit_p50_us": lat[len(lat) // 2] if lat else None,
                "hit_p99_us": lat[int(len(lat) * 0.99)] if lat else None}
    finally:
        proc.terminate()
        proc.wait(30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="folder written by transformer_fixtures.py --bench")
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/tollgate"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--hits-per-second", type=int, default=200)
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args()
    results = {name: {"engine": [], "llama": [], "gateway": []} for name in MODELS}
    for round_ in range(args.rounds):
        for name in MODELS:
            path = os.path.join(args.models, name)
            results[name]["engine"].append(engine_bench(args.binary, path, 2))
            results[name]["gateway"].append(gateway_bench(args.binary, path, args.hits_per_second))
        for name, figures in llama_bench(args.models).items():
            results[name]["llama"].append(figures)
        print(f"round {round_ + 1} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr)

    def best(values):
        return max(values) if values else float("nan")

    print("| model | engine prefill tok/s | llama.cpp prefill | ratio | engine decode tok/s | llama.cpp decode | ratio "
          "| bound tok/s | decode / bound | gateway decode alone | with cache hits | hit p50 / p99 µs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in MODELS:
        r = results[name]
        ep = best([e["prefill_tokens_per_s"] for e in r["engine"]])
        ed = best([e["decode_tokens_per_s"] for e in r["engine"]])
        bound = best([e["bound_tokens_per_s"] for e in r["engine"]])
        lp = best([x["prompt_tokens_per_s"] for x in r["llama"]])
        ld = best([x["decode_tokens_per_s"] for x in r["llama"]])
        ga = best([g["alone"]["decode_tokens_per_s"] for g in r["gateway"]])
        gl = best([g["with_hits"]["decode_tokens_per_s"] for g in r["gateway"]])
        g = r["gateway"][-1]
        print(f"| {name} | {ep:.1f} | {lp:.1f} | {ep / lp:.2f} | {ed:.1f} | {ld:.1f} | {ed / ld:.2f} | {bound:.1f} "
              f"| {100 * ed / bound:.0f}% | {ga:.1f} | {gl:.1f} | {g['hit_p50_us']:.0f} / {g['hit_p99_us']:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
