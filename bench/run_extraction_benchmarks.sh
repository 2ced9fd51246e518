#!/usr/bin/env bash
# Reproduces the extraction rows of docs/benchmarks.md (evidex side). LangExtract's side: bench/langextract/.
# Needs ../shared/data (or EVIDEX_SHARED_DATA) and the project venv (make setup).
set -euo pipefail
cd "$(dirname "$0")/.."
E=.venv/bin/evidex
OUT=bench/results
PORT=${PORT:-18090}
uptime
# 1. the embedded default, in process (Gemma 3 270M; candidates ranked by the prior, model for fallbacks)
$E bench sroie --sample 100 --json $OUT/evidex-sroie-100.json
$E bench kleister-nda --split dev-0 --json $OUT/evidex-kleister-dev0.json
# 2. the same documents LangExtract ran on
$E bench sroie --sample 30 --json $OUT/evidex-sroie-30.json
$E bench kleister-nda --split dev-0 --limit 2 --json $OUT/evidex-kleister-2.json
# 3. evidex through its openai backend against a llama.cpp server with the same GGUF (generate mode: the model
#    writes JSON, evidex grounds it) — the same serving setup LangExtract used
GGUF=$(.venv/bin/python -c "from evidex.backends.llamacpp import default_model_path; print(default_model_path())")
OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" \
  --n_ctx 4096 --n_threads 2 --chat_format gemma --logits_all false > .bench/server-$PORT.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for i in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break; sleep 0.5; done
$E bench sroie --sample 30 --backend openai --base-url "http://127.0.0.1:$PORT/v1" --mode generate \
  --json $OUT/evidex-openai-generate-sroie-30.json
# (Kleister-NDA through the server in generate mode is not run: with the 270M model each long contract takes
#  tens of minutes of grammar-constrained decoding on 2 cores.)
# 4. prompt-format robustness (FormatSpread): 3 equivalent prompt formats, generate mode, 5 receipts
$E bench sroie --sample 5 --backend openai --base-url "http://127.0.0.1:$PORT/v1" --mode generate --format-spread 3 \
  --json $OUT/evidex-format-spread-sroie-5.json
uptime
