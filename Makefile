# Two commands for a newcomer: `make run` (the whole system on embedded defaults) and
# `make test` (the test suite on SQLite and PostgreSQL, with the real Redis).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

run: install
	./scripts/run.sh

lint: install-dev
	$(BIN)/ruff check .

test: install-dev lint
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf instance test-artifacts .pytest_cache
