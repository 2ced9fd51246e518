#!/usr/bin/env bash
# Run the whole parsing benchmark matrix and write bench/results/parse.{json,md}.
#
#   bash bench/parse/setup_peers.sh        # once: peer venvs under .bench/venvs/
#   bash bench/parse/bench.sh              # N=5 warm runs for PDF/EML, 10 for the others (N_PDF / N_OTHER)
#   TOOLS="evidex docling" bash bench/parse/bench.sh
#
# One fresh process per tool × file (peak RSS is per process). Offline: HF_HUB_OFFLINE=1, nothing downloads.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CORPUS=${CORPUS:-.bench/corpus}
RAW=${RAW:-.bench/parse_raw.jsonl}
N_PDF=${N_PDF:-5}
N_OTHER=${N_OTHER:-10}
TOOLS=${TOOLS:-"evidex markitdown docling unstructured"}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 UNSTRUCTURED_DISABLE_NOTICE=1 DO_NOT_TRACK=1

py_for() { if [[ $1 == evidex ]]; then echo .venv/bin/python; else echo ".bench/venvs/$1/bin/python"; fi; }

.venv/bin/python bench/parse/make_corpus.py "$CORPUS"
UPTIME_BEFORE=$(uptime)
echo "load before: $UPTIME_BEFORE"
: > "$RAW"
CMDS=()
for f in report.pdf report.docx report.xlsx report.html mail.eml; do
  case $f in *.pdf|*.eml) n=$N_PDF ;; *) n=$N_OTHER ;; esac
  for t in $TOOLS; do
    py=$(py_for "$t")
    if [[ ! -x $py ]]; then echo "{\"tool\":\"$t\",\"file\":\"$f\",\"ok\":false,\"error\":\"not installed: run bench/parse/setup_peers.sh\"}" >> "$RAW"; continue; fi
    cmd="$py bench/parse/run.py $t $CORPUS/$f $n"
    CMDS+=("$cmd")
    echo "+ $cmd"
    $cmd 2>> .bench/parse_stderr.log | tail -1 >> "$RAW" || echo "{\"tool\":\"$t\",\"file\":\"$f\",\"ok\":false,\"error\":\"process failed\"}" >> "$RAW"
  done
done
UPTIME_AFTER=$(uptime)
echo "load after: $UPTIME_AFTER"
printf '%s\n' "${CMDS[@]}" > .bench/parse_commands.txt
.venv/bin/python bench/parse/report.py "$RAW" --uptime-before "$UPTIME_BEFORE" --uptime-after "$UPTIME_AFTER" \
  --commands .bench/parse_commands.txt --out-json bench/results/parse.json --out-md bench/results/parse.md
