#!/usr/bin/env python3
"""Time to first token for a long prompt with and without prefix KV reuse, through the gateway.

Starts the release `tollgate serve` with one gguf backend (the model given by --model, e.g. a
model written by `scripts/transformer_fixtures.py --bench DIR`). For each round it streams a
completion for a fresh ~N-token prompt (cold: nothing cached), then the same prompt with a few
words appended (warm: the prompt's whole KV blocks are reused), and records the time to the
first streamed token and `usage.prompt_tokens_details.cached_tokens` of each. Responses are not
cached (`Cache-Control: no-store`), so every request runs the engine. Prints a Markdown table.
Usage: python3 scripts/bench/prefix_reuse.py --model /tmp/fxbench/bench-qwen2-0.5b-q4_0.gguf
"""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stream(port, prompt):
    body = json.dumps({"model": "local", "prompt": prompt, "max_tokens": 4, "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Cache-Control": "no-store",
                                              "Authorization": "Bearer bench"})
    started = time.monotonic()
    first = None
    usage = None
    try:
        response = urllib.request.urlopen(request, timeout=600)
    except urllib.error.HTTPError as error:
        sys.exit(f"the gateway answered {error.code}: {error.read()[:500]!r}")
    with response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and chunk.get("choices"):
                first = time.monotonic() - started
            if chunk.get("usage"):
                usage = chunk["usage"]
    return first, usage


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/tollgate"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--words", type=int, default=1400, help="words per prompt (about 1.4 tokens each)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tollgate-prefix-")
    os.makedirs(os.path.join(work, "policies"))
    port, admin = free_port(), free_port()
    open(os.path.join(work, "config.toml"), "w").write(
        f'[server]\nlisten = "127.0.0.1:{port}"\nadmin_listen = "127.0.0.1:{admin}"\nwatch_policies = false\n'
        '[log]\naccess_log = false\nlevel = "warning"\n')
    open(os.path.join(work, "policies", "local.toml"), "w").write(
        f'[backends.local]\ntype = "gguf"\nfile = "{args.model}"\ncontext_size = 4096\n\n'
        '[[routes]]\nname = "local"\nkinds = ["completion"]\nmodels = ["local"]\nbackends = ["local"]\n')
    server = subprocess.Popen([args.binary, "serve", "--config", os.path.join(work, "config.toml")],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "gw.log"), "w"))
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except Exception:
                if time.time() > deadline:
                    sys.exit("the gateway did not start: " + open(os.path.join(work, "gw.log")).read()[-2000:])
                time.sleep(0.2)
        vocabulary = ["river", "stone", "lamp", "orbit", "velvet", "signal", "harbor", "maple", "quartz", "ember",
                      "tundra", "cobalt", "fable", "prism", "saddle", "willow", "beacon", "gravel", "lantern", "meadow"]
        rows = []
        for round_index in range(args.rounds):
            rng = random.Random(round_index)
            prompt = " ".join(rng.choice(vocabulary) for _ in range(args.words))
            cold, cold_usage = stream(port, prompt)
            warm, warm_usage = stream(port, prompt + " and then the next part")
            rows.append((cold, cold_usage, warm, warm_usage))
            print(f"round {round_index}: cold {cold:.3f} s ({cold_usage['prompt_tokens']} tokens, "
                  f"{cold_usage['prompt_tokens_details']['cached_tokens']} cached), warm {warm:.3f} s "
                  f"({warm_usage['prompt_tokens']} tokens, {warm_usage['prompt_tokens_details']['cached_tokens']} cached)",
                  flush=True)
        rows.sort(key=lambda r: r[0] / r[2])
        cold, cold_usage, warm, warm_usage = rows[len(rows) // 2]
        print()
        print(f"| {os.path.basename(args.model)}, median of {args.rounds} rounds | prompt tokens | reused | time to first token |")
        print("|---|---:|---:|---:|")
        print(f"| cold (reference) | {cold_usage['prompt_tokens']} | 0 | {cold:.3f} s |")
        print(f"| same prompt + 6 tokens | {warm_usage['prompt_tokens']} | "
              f"{warm_usage['prompt_tokens_details']['cached_tokens']} | {warm:.3f} s |")
        print(f"| **speed-up** | | | **{cold / warm:.1f}x** |")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
