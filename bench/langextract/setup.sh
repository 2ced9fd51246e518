#!/usr/bin/env bash
# Create the isolated LangExtract environment in .bench/venvs/langextract (gitignored).
# LangExtract talks to the model only through the OpenAI-compatible server (serve.sh); nothing is
# downloaded at run time.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.bench/venvs/langextract"
PY="${PYTHON:-python3}"
mkdir -p "$ROOT/.bench/venvs"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "langextract${LANGEXTRACT_VERSION:+==$LANGEXTRACT_VERSION}" openai
"$VENV/bin/python" -c "import langextract, openai; print('langextract', langextract.__version__ if hasattr(langextract, '__version__') else '?', 'openai', openai.__version__)"
