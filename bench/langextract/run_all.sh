#!/usr/bin/env bash
# The LangExtract benchmark as recorded in bench/results/langextract.md. Needs serve.sh and usage_proxy.py
# running (see that file); writes .bench/lx/<dataset>.preds.jsonl, .stats.json, .score.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
export EVIDEX_SHARED_DATA="${EVIDEX_SHARED_DATA:-/work/shared/data}"
PY="$ROOT/.bench/venvs/langextract/bin/python"
BASE="${BASE_URL:-http://127.0.0.1:8091/v1}"
SPID="${SERVER_PID:-$(pgrep -f 'llama_cpp.server --model' | head -1 || true)}"
OUT="${OUT_DIR:-.bench/lx}"
"$PY" bench/langextract/run_langextract.py --dataset sroie --split train --sample "${SROIE_SAMPLE:-30}" --seed 0 \
  --base-url "$BASE" --out "$OUT/sroie.preds.jsonl" ${SPID:+--server-pid $SPID} --score
"$PY" bench/langextract/run_langextract.py --dataset kleister-nda --split dev-0 --limit "${KLEISTER_LIMIT:-2}" \
  --base-url "$BASE" --out "$OUT/kleister-nda.preds.jsonl" ${SPID:+--server-pid $SPID} --score
