# evidex — one-command setup, demo and tests. Needs only python3 (3.11+) and make on the machine.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
EXTRAS  ?= dev,formats,ocr,llm,server,openai,outputs
STAMP   := $(VENV)/.installed-$(shell echo '$(EXTRAS)' | tr ',' '-')

.PHONY: setup system-deps demo test check lint typecheck layers pytest bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing evidex[$(EXTRAS)] (first run builds llama-cpp-python from source: ~10-20 min on 2 cores; cached afterwards)"
	$(BIN)/python -m pip install --progress-bar off -e '.[$(EXTRAS)]'
	touch $@

# Optional system packages: tesseract (best OCR here) and a TTF font the OCR tests draw with.
# Skipped when apt is unavailable or not root: OCR then falls back to rapidocr and font-based tests skip.
system-deps:
	@if { ! command -v tesseract >/dev/null 2>&1 || [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; } \
	    && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing tesseract-ocr and fonts-dejavu-core (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr fonts-dejavu-core >/dev/null) \
	    || echo "apt install failed; OCR falls back to rapidocr"; \
	fi

setup: $(STAMP) system-deps

# The main job on the embedded default (Gemma 3 270M in process; offline): extract grounded values from the
# example documents, write JSONL + CSV + an HTML evidence report under out/.
demo: setup
	@mkdir -p out
	$(BIN)/evidex extract examples/invoice-acme.html examples/invoice-brightline.html \
	  --schema examples/schemas/invoice.yaml -o out/invoices.jsonl --csv out/invoices.csv --html out/invoices.html
	$(BIN)/evidex extract examples/letter-termination.txt \
	  --schema examples/schemas/letter.yaml -o out/letter.jsonl --html out/letter.html
	@echo "Reports: out/invoices.html out/letter.html · records: out/*.jsonl"

lint: setup
	$(BIN)/ruff check src tests bench

typecheck: setup
	$(BIN)/mypy

layers: setup
	$(BIN)/lint-imports

pytest: setup
	$(BIN)/pytest -q

check: lint typecheck layers

test: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build src/*.egg-info
