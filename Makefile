# Two commands: `make run` and `make test`. Both start from `make setup`, which is quick when nothing changed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

# Django 6 needs Python 3.12+: take the first interpreter that is new enough (pyenv's too).
PYTHON ?= $(shell for p in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.12*/bin/python3 $$HOME/.pyenv/versions/3.13*/bin/python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: setup run test lint services-stop bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Primer needs Python 3.12 or newer"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

run: setup
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_shipped_course
	$(PY) manage.py create_demo_learner
	@echo ""
	@echo "  Primer is starting at http://127.0.0.1:$(PORT)/  (Ctrl-C stops it)"
	@echo ""
	@trap '$(PY) -m config.embedded stop' EXIT; $(PY) -m config.run || true

test: setup
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
