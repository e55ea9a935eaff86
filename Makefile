# newsflow: `make demo` runs the pipeline on local defaults; `make test` is what CI runs;
# `make test-fast` is the inner loop (unit tests and golden files, no services, under a minute).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# The lock is compiled for this interpreter and platform (see `make lock`).
LOCK := requirements.lock

.PHONY: install demo down test test-fast lint typecheck pytest lock bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/uv
	@echo "installing the locked dependencies into $(VENV) (a first install takes a minute or two)"
	$(BIN)/uv pip sync --quiet --link-mode=copy --python $(BIN)/python $(LOCK)
	$(BIN)/uv pip install --quiet --link-mode=copy --python $(BIN)/python --no-deps -e .
	touch $@

# Services that are not Python packages come from Debian: PostgreSQL (`postgresql`) and, for
# `newsflow airflow up --executor celery`, Redis (`redis-server`); the devstack installs them with
# apt-get when run as root, otherwise it says which package to install.
install: $(VENV)/.installed
	@command -v redis-server >/dev/null || echo "note: redis-server is not installed; the Celery executor needs it (apt-get install -y redis-server)"

demo: install
	$(BIN)/newsflow demo

down: install
	$(BIN)/newsflow down

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

# Unit tests and golden files only: no Elasticsearch, Airflow or PostgreSQL, no ../shared needed.
test-fast: install
	$(BIN)/pytest -q -p no:cacheprovider -m "not integration and not e2e and not quality" tests/unit

bench: install
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Re-pin after changing dependencies in pyproject.toml.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --group dev --generate-hashes --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --quiet -o $(LOCK)

clean: down
	rm -rf .local/airflow .local/archive
