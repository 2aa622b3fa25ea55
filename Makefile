# Two commands for a fresh machine (only Python 3.11+ needed):
#   make run    install into .venv and run the flagship experiment (results/ + figures + report)
#   make test   install into .venv (with test tools) and run the test suite
# Installs use the tested versions pinned in $(CONSTRAINTS); `make lock` refreshes them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints-py311.txt
PIP := $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS)
FAST_TIER := not (slow or tutorial or faults or browser)

.PHONY: run test test-fast test-newest install install-dev lock lint translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(PIP) -e .

install-dev: $(BIN)/python
	$(PIP) -e ".[dev,viz,inference]"

run: install
	$(BIN)/loyaltysim sweep experiments/satisfaction_trap.yaml --out results/satisfaction_trap-$$(date +%Y%m%d-%H%M%S)

test: install-dev
	$(BIN)/python -m pytest -q -n 2

# rules, config, properties, docking, CLI basics: under 90 s on 2 cores (no tutorials, fault injection,
# browser or long statistical tests; those carry the markers in pyproject.toml)
test-fast: install-dev
	$(BIN)/python -m pytest -q -n 2 -m "$(FAST_TIER)"

# the whole suite with the newest versions pyproject.toml's ranges allow (no constraints), in .venv-newest
test-newest:
	$(PYTHON) -m venv .venv-newest
	.venv-newest/bin/python -m pip install --quiet --upgrade pip
	.venv-newest/bin/python -m pip install --quiet -e ".[dev,viz,inference]"
	.venv-newest/bin/python -m pytest -q -n 2

# re-resolve the pinned versions (newest within pyproject.toml's ranges) for Python 3.11 on Linux
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --quiet --python-version 3.11 --python-platform linux \
	  --all-extras --constraint requirements/torch.txt --custom-compile-command "make lock" --output-file $(CONSTRAINTS)

# re-extract the messages marked with _() / N_() into the catalogue template, merge them into each language's .po
# (then translate the new entries), and compile the .mo files the package reads; both are committed
LOCALE := src/loyaltysim/i18n/locale
translations: install-dev
	$(BIN)/pybabel extract --no-location --sort-output --project loyaltysim -F babel.cfg -o $(LOCALE)/loyaltysim.pot src/loyaltysim
	$(BIN)/pybabel update --no-fuzzy-matching -i $(LOCALE)/loyaltysim.pot -d $(LOCALE) -D loyaltysim
	$(BIN)/pybabel compile --statistics -d $(LOCALE) -D loyaltysim

lint: install-dev
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .venv-newest build src/*.egg-info .pytest_cache
