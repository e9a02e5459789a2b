#!/usr/bin/env python3
"""Aggregate decode tokens/s with 1, 4 and 8 concurrent sequences: Tollgate's engine (continuous
batching) beside llama.cpp's parallel decode, on the same GGUF file, 2 threads, same run.

Tollgate: `tollgate bench batch` (release build) submits N greedy requests to one engine at once
and counts the tokens generated while all N decode, per second of that window (sampling and
detokenising included).

llama.cpp (llama-cpp-python's low-level API, as llama.cpp's `batched` example does): one context
with n_seq_max = N; every prompt prefilled in one llama_batch (one seq_id each), then each step one
llama_batch of N tokens (one per sequence, logits for each) through llama_decode and a greedy
argmax per sequence; the decode loop is timed. Weights use the plain CPU path
(`use_extra_bufts = False`, see load_llama in scripts/transformer_fixtures.py), flash attention
off as in that script's --bench-llama; the KV cache is F16 on both sides.

Prompts are random ordinary token ids (different per sequence), so both sides get the same
lengths. Rounds alternate which engine goes first (the machine may be shared); the median of the
rounds is reported, with ratios to one sequence and to llama.cpp.

Usage:
  swift build -c release --scratch-path .build-batch --product tollgate
  python3 scripts/bench/batched_decode.py --model /tmp/fxbench/bench-qwen2-0.5b-q8_0.gguf \\
      --tollgate .build-batch/release/tollgate
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SEED = 42


def tollgate_round(binary: str, model: str, counts: list[int], prompt_tokens: int, decode_tokens: int,
                   threads: int) -> dict[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "batch.json"
        subprocess.run(
            [binary, "bench", "batch", "--model", model, "--threads", str(threads),
             "--prompt-tokens", str(prompt_tokens), "--decode-tokens", str(decode_tokens),
             "--concurrency", ",".join(map(str, counts)), "--json", str(out)],
            check=True, stdout=subprocess.DEVNULL)
        results = json.loads(out.read_text())["results"]
    return {int(r["sequences"]): float(r["decode_tokens_per_s"]) for r in results}


class LlamaParallel:
    """One llama.cpp model; a context per concurrency, made for each measurement."""

    def __init__(self, model: str, threads: int, verbose: bool):
        import llama_cpp.llama_cpp as low

        self.low = low
        self.threads = threads
        if not verbose:
            # Kept on self: llama.cpp calls it for as long as the process runs.
            self.silence = low.llama_log_callback(lambda level, text, data: None)
            low.llama_log_set(self.silence, ctypes.c_void_p(0))
        low.llama_backend_init()
        params = low.llama_model_default_params()
        params.use_extra_bufts = False  # the plain CPU path (the repacked buffers SIGILL here)
        self.model = low.llama_model_load_from_file(model.encode(), params)
        if not self.model:
            sys.exit(f"llama.cpp could not load {model}")
        self.vocab = low.llama_model_get_vocab(self.model)
        self.n_vocab = low.llama_vocab_n_tokens(self.vocab)

    def measure(self, prompts: list[list[int]], decode_tokens: int) -> float:
        low = self.low
        n = len(prompts)
        per_sequence = len(prompts[0]) + decode_tokens + 16
        params = low.llama_context_default_params()
        params.n_ctx = n * per_sequence
        params.n_batch = max(512, n * len(prompts[0]))
        params.n_ubatch = params.n_batch
        params.n_seq_max = n
        params.n_threads = self.threads
        params.n_threads_batch = self.threads
        params.no_perf = True
        # As scripts/transformer_fixtures.py --bench-llama (flash_attn=False); "auto" decodes at a
        # fraction of the speed on this CPU build.
        params.flash_attn_type = 0
        ctx = low.llama_init_from_model(self.model, params)
        if not ctx:
            sys.exit("llama.cpp could not make a context")
        batch = low.llama_batch_init(max(params.n_batch, n), 0, n)
        try:
            def add(token: int, position: int, sequence: int, logits: bool):
                i = batch.n_tokens
                batch.token[i] = token
                batch.pos[i] = position
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = sequence
                batch.logits[i] = 1 if logits else 0
                batch.n_tokens += 1

            def argmax(row: int) -> int:
                pointer = low.llama_get_logits_ith(ctx, row)
                return int(np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).argmax())

            batch.n_tokens = 0
            rows = []
            for s, prompt in enumerate(prompts):
                for p, token in enumerate(prompt):
                    add(token, p, s, p == len(prompt) - 1)
                rows.append(batch.n_tokens - 1)
            if low.llama_decode(ctx, batch) != 0:
                sys.exit("llama_decode failed on the prompts")
            tokens = [argmax(r) for r in rows]
            position = len(prompts[0])
            start = time.perf_counter()
            for step in range(decode_tokens):
                batch.n_tokens = 0
                for s in range(n):
                    add(tokens[s], position + step, s, True)
                if low.llama_decode(ctx, batch) != 0:
                    sys.exit(f"llama_decode failed at step {step}")
                tokens = [argmax(s) for s in range(n)]
            elapsed = time.perf_counter() - start
        finally:
            low.llama_batch_free(batch)
            low.llama_free(ctx)
        return n * decode_tokens / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, action="append", help="GGUF file (repeat for several)")
    ap.add_argument("--tollgate", default=str(ROOT / ".build-batch" / "release" / "tollgate"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--concurrency", default="1,4,8")
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    counts = [int(c) for c in args.concurrency.split(",")]
    if not os.access(args.tollgate, os.X_OK):
        sys.exit(f"{args.tollgate}: build it with `swift build -c release --scratch-path .build-batch`")

    report = {"threads": args.threads, "prompt_tokens": args.prompt_tokens, "decode_tokens": args.decode_tokens,
              "rounds": args.rounds, "cpus": os.cpu_count(), "models": []}
    for model in args.model:
        llama = LlamaParallel(model, args.threads, args.verbose)
        rng = np.random.default_rng(SEED)
        low_id, high_id = min(300, llama.n_vocab // 2), min(1400, llama.n_vocab)
        ours: dict[int, list[float]] = {n: [] for n in counts}
        theirs: dict[int, list[float]] = {n: [] for n in counts}
        # Warm-up for llama.cpp (pages the weights in); `tollgate bench batch` warms itself up.
        llama.measure([[int(t) for t in rng.integers(low_id, high_id, args.prompt_tokens)]], 4)
        loads = []
        for r in range(args.rounds):
            def run_llama():
                for n in counts:
                    prompts = [[int(t) for t in rng.integers(low_id, high_id, args.prompt_tokens)] for _ in range(n)]
                    theirs[n].append(llama.measure(prompts, args.decode_tokens))

            def run_ours():
                for n, rate in tollgate_round(args.tollgate, model, counts, args.prompt_tokens, args.decode_tokens,
                                              args.threads).items():
                    ours[n].append(rate)

            order = (run_ours, run_llama) if r % 2 == 0 else (run_llama, run_ours)
            for run in order:
                run()
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1}: ours {[round(ours[n][-1], 1) for n in counts]}, "
                  f"llama.cpp {[round(theirs[n][-1], 1) for n in counts]}", file=sys.stderr)

        rows = []
        for n in counts:
            o, t = statistics.median(ours[n]), statistics.median(theirs[n])
            rows.append({"sequences": n, "tollgate": round(o, 2), "llama_cpp": round(t, 2),
                         "tollgate_vs_one": round(o / statistics.median(ours[counts[0]]), 2),
                         "llama_cpp_vs_one": round(t / statistics.median(theirs[counts[0]]), 2),
                         "tollgate_vs_llama_cpp": round(o / t, 2),
                         "tollgate_rounds": [round(x, 2) for x in ours[n]],
                         "llama_cpp_rounds": [round(x, 2) for x in theirs[n]]})
        report["models"].append({"model": model, "load_average": loads, "results": rows})
        name = Path(model).name
        print(f"\n{name}, {args.threads} threads, {args.prompt_tokens}-token prompts, {args.decode_tokens} tokens "
              f"each, median of {args.rounds} interleaved rounds (load average {loads})")
        print("| sequences | Tollgate tokens/s | vs 1 | llama.cpp parallel tokens/s | vs 1 | Tollgate / llama.cpp |")
        print("|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            print(f"| {row['sequences']} | {row['tollgate']:.1f} | {row['tollgate_vs_one']:.2f}x | "
                  f"{row['llama_cpp']:.1f} | {row['llama_cpp_vs_one']:.2f}x | {row['tollgate_vs_llama_cpp']:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
