# The two Quick start commands: `make run` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench

run: $(STAMP)
	$(BIN)/roster

# Two workers: the tests are independent (each makes its own data directory, database and
# servers), and the machines this runs on have two cores.
test: $(STAMP) lint
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check tui tests bench
	$(BIN)/ruff format --check tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/service.py
	$(BIN)/python bench/preview.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	touch $(STAMP)
