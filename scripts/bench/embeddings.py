#!/usr/bin/env python3
"""Embeddings per second for a BERT GGUF model: Tollgate's engine against llama.cpp's embedding mode, same file.

Ours is the release `tollgate bench embed` (EmbeddingEngine.embed, tokenising included, requests of B texts one
after another, 2 threads); llama.cpp is llama-cpp-python's `Llama.embed` (embedding=True, mean pooling,
normalize=True, tokenising included, 2 threads, the plain CPU path as in scripts/transformer_fixtures.py) on the
same file and the same sentences. Rounds alternate between the two for each batch size, so both see the same
machine load; the best and the median round of each are reported, with the ratio ours / llama.cpp.

    swift build -c release --scratch-path .build-embed
    python3 scripts/bench/embeddings.py --model models/all-minilm-l6-v2-q8_0.gguf

Needs llama-cpp-python 0.3.36 (scripts/requirements-embedding.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

# The same sentences the Swift command uses by default (EmbeddingBench.swift): ordinary English, 12-30 tokens.
SENTENCES = [
    "A man is eating food at a small table near the window.",
    "The new movie is awesome and the soundtrack is even better.",
    "Two dogs are running through a field of tall green grass.",
    "She finally finished the report after working late for three nights in a row.",
    "How do I reset my password if I no longer have access to my email account?",
    "The committee will meet again next Tuesday to discuss the budget for the coming year.",
    "Heavy rain caused flooding in several neighbourhoods on the east side of the city.",
    "Machine learning models can be expensive to run, so caching their answers saves money.",
    "Please send me the invoice for last month's order as soon as possible.",
    "The train to the airport leaves every fifteen minutes from platform four.",
    "Researchers found that regular exercise improves both memory and mood in older adults.",
    "What is the difference between a virus and a bacterium?",
    "The recipe calls for two cups of flour, one egg and a pinch of salt.",
    "Our team shipped the new search feature two weeks ahead of schedule.",
    "He plays the guitar in a band that performs at local cafes on weekends.",
    "Customers can return any item within thirty days for a full refund.",
]


def ours(binary: Path, model: Path, batch: int, seconds: float, threads: int, texts: Path) -> float:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        result = subprocess.run(
            [str(binary), "bench", "embed", "--model", str(model), "--threads", str(threads), "--batch", str(batch),
             "--seconds", str(seconds), "--texts", str(texts), "--json", out.name],
            capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            sys.exit(f"tollgate bench embed failed: {result.stderr[-2000:]}")
        return json.loads(Path(out.name).read_text())["results"][0]["embeddings_per_second"]


def llama_round(llm, batch: int, seconds: float) -> float:
    def request(start: int) -> list[str]:
        return [SENTENCES[(start + i) % len(SENTENCES)] for i in range(batch)]

    for i in range(max(1, 64 // batch)):  # warm-up, as ours does
        llm.embed(request(i * batch), normalize=True)
    embedded = 0
    next_index = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        texts = request(next_index)
        next_index += batch
        vectors = llm.embed(texts, normalize=True)
        embedded += len(vectors)
        elapsed = time.perf_counter() - start
    return embedded / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models/all-minilm-l6-v2-q8_0.gguf")
    parser.add_argument("--binary", type=Path, default=ROOT / ".build-embed/release/tollgate")
    parser.add_argument("--batch", type=int, action="append", help="texts per request (repeatable; default 1, 32)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    batches = args.batch or [1, 32]
    if not args.binary.is_file():
        sys.exit(f"{args.binary} is missing: swift build -c release --scratch-path .build-embed")

    from embedding_fixtures import load_llama_embedder, quiet

    # n_batch = n_ubatch: a whole request of 32 texts (about 600 tokens) in one decode, as ours does.
    llm = load_llama_embedder(args.model, n_ctx=2048, threads=args.threads)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(SENTENCES) + "\n")
        texts = Path(f.name)
    tokens = [len(llm.tokenize(s.encode(), add_bos=True, special=False)) for s in SENTENCES]
    print(f"{args.model.name}: {len(SENTENCES)} sentences of {statistics.mean(tokens):.1f} tokens on average, "
          f"{args.threads} threads, {args.rounds} rounds of {args.seconds:g} s each, interleaved")
    figures = {}
    try:
        for batch in batches:
            mine, theirs = [], []
            for _ in range(args.rounds):
                mine.append(ours(args.binary, args.model, batch, args.seconds, args.threads, texts))
                with quiet():
                    theirs.append(llama_round(llm, batch, args.seconds))
            figures[batch] = {"tollgate": mine, "llama_cpp": theirs}
            print(f"batch {batch:>3}: tollgate best {max(mine):8.1f}/s median {statistics.median(mine):8.1f}/s | "
                  f"llama.cpp best {max(theirs):8.1f}/s median {statistics.median(theirs):8.1f}/s | "
                  f"ratio best {max(mine) / max(theirs):.2f}x median "
                  f"{statistics.median(mine) / statistics.median(theirs):.2f}x")
    finally:
        os.unlink(texts)
    print()
    print("| texts per request | Tollgate (embeddings/s) | llama.cpp (embeddings/s) | ratio |")
    print("|---:|---:|---:|---:|")
    for batch, f in figures.items():
        print(f"| {batch} | {statistics.median(f['tollgate']):.0f} | {statistics.median(f['llama_cpp']):.0f} | "
              f"{statistics.median(f['tollgate']) / statistics.median(f['llama_cpp']):.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "threads": args.threads, "figures": figures},
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
