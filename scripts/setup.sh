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
