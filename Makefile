# Saved Loops — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= data/aiops.duckdb
PORT   ?= 8501
ADDRESS ?=

.PHONY: run test test-fast bench lint install demo clean

# Some machines set PYTHONDONTWRITEBYTECODE: every process (each test worker) would then compile
# the package and rewrite the test modules' asserts again. Python's default is to cache them.
unexport PYTHONDONTWRITEBYTECODE

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

# DB may be a PostgreSQL URL (make run DB=postgresql://...): used as it is, no demo is built into it;
# a DuckDB file that is missing gets the demo.
DB_FILE := $(if $(findstring ://,$(DB)),,$(DB))

ifneq ($(DB_FILE),)
$(DB_FILE): | $(VENV)/.installed
	$(BIN)/aiops demo --db $(DB_FILE)
endif

demo: $(VENV)/.installed
	$(BIN)/aiops demo --db $(DB)

# This machine only (127.0.0.1) unless ADDRESS is given (make run ADDRESS=0.0.0.0: all interfaces;
# `aiops serve` warns when that is local mode, where everyone acts as the admin).
run: $(VENV)/.installed $(DB_FILE)
	$(BIN)/aiops serve --db "$(DB)" --port $(PORT) $(if $(ADDRESS),--address $(ADDRESS))

# Test files spread over 4 workers (a file stays on one worker, so module fixtures are built once).
# Four even on two cores: much of the suite waits on Streamlit servers, Chromium and PostgreSQL
# (on 2 cores: 8 min 36 s with 4 workers, 12 min with 2).
XDIST := -n 4 --dist loadfile

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(XDIST)

# The quick loop while developing: everything but the tests marked slow (`make test` runs all).
# Only tests/unit holds such tests (every AppTest page and browser is slow: see tests/conftest.py).
# They wait on nothing but the CPU: one worker per core, each taking the next test when idle, and
# each worker's DuckDB on one thread (tests/conftest.py: _one_duckdb_thread).
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit -n auto --dist worksteal -m "not slow"

bench: $(VENV)/.installed
	@for script in $(filter-out bench/__init__.py,$(wildcard bench/*.py)); do \
		echo "== $$script"; $(BIN)/python -m bench.$$(basename $$script .py) || exit 1; done

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
