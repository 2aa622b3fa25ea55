# Two commands for a fresh machine (only Python 3.11+ needed):
#   make run    install into .venv and run the flagship experiment (results/ + figures + report)
#   make test   install into .venv (with test tools) and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[fast]"

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,viz]"

run: install
	$(BIN)/loyaltysim sweep experiments/satisfaction_trap.yaml --out results/satisfaction_trap-$$(date +%Y%m%d-%H%M%S)

test: install-dev
	$(BIN)/python -m pytest -q -n 2

lint: install-dev
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
