# Two commands for a newcomer: `make run` and `make test`. Both build their own virtual environment.
# Python 3.12 or newer (3.11's collector can corrupt SQLAlchemy's state; see docs/architecture.md): the first
# interpreter on the PATH that is new enough, else one pyenv has installed.
PYTHON ?= $(shell for c in python3 python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3); do \
	$$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$c; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app app

.PHONY: run test test-fast mutation bench screenshots clean

$(BIN)/activate:
	@test -n "$(PYTHON)" || { echo "Afterimage needs Python 3.12 or newer: install python3.12 (Debian: apt-get install python3.12-venv) or pyenv's 3.12, then run make again." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(VENV)/.installed $@

# init-db runs the migrations (`flask db upgrade`), adopting a database made before migrations existed.
run: $(VENV)/.installed
	$(FLASK) init-db
	$(FLASK) demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --postgres

# The unit tests alone, on SQLite: no browser, no servers started, no PostgreSQL. schemathesis's pytest plugin
# (unused: tests/api/test_schemathesis.py drives it by hand) would cost each process 2 s of imports; worksteal
# keeps both workers busy to the end. The project's compiled modules and pytest's rewritten test files are kept
# (__pycache__, ignored by git) even where PYTHONDONTWRITEBYTECODE is set: compiling them afresh cost each worker
# 13 s of CPU at every run, against 5.5 s from the cache.
test-fast: $(VENV)/.installed-test
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n auto --dist worksteal -p no:schemathesis -m "not browser and not slow and not postgres"

# Mutation testing (docs/testing.md) with the fast tests over the modules [tool.mutmut] names; the report goes to
# build/mutation-report.txt. All ~8,700 mutants take hours on 2 cores: `make mutation SAMPLE=10` checks a fixed one
# in ten (after any first run has generated the mutants), `MUTANTS='recs.*'` one module group.
MUTANTS ?= *
mutation: $(VENV)/.installed-test
	mkdir -p build
	$(if $(SAMPLE),$(BIN)/python scripts/mutation_report.py sample $(SAMPLE) '$(MUTANTS)' > build/mutation-sample.txt)
	$(BIN)/mutmut run --max-children 2 $(if $(SAMPLE),$$(cat build/mutation-sample.txt),'$(MUTANTS)')
	$(BIN)/python scripts/mutation_report.py report | tee build/mutation-report.txt

# Load test: gunicorn on 127.0.0.1 with a 10,000-item catalog; `make bench ARGS=--postgres` for PostgreSQL.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/load.py $(ARGS)

# The README's screenshots (docs/img/) of the demo catalog, taken by the system Chromium.
screenshots: $(VENV)/.installed-test
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache
