# One command sets up and runs the demo, one sets up and runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser openssl demo test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/postcheck demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/lint_layers.py

# Debian's chromium for the test that opens a report in the Prefect UI.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium (for the Prefect UI test)"; \
	  $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q >/dev/null 2>&1 && $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "warning: could not install chromium; the UI screenshot test will be skipped"; }

# Debian's openssl command: the tests' time-stamping authority issues its replies with
# `openssl ts -reply` (fixtures/tsa.py).
openssl:
	@command -v openssl >/dev/null 2>&1 || { \
	  echo "installing Debian's openssl (for the time-stamping tests)"; \
	  $(SUDO) apt-get install -y -q openssl >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q >/dev/null 2>&1 && $(SUDO) apt-get install -y -q openssl >/dev/null 2>&1; } || \
	  echo "warning: could not install openssl; the time-stamping tests will fail"; }

# With Debian's PostgreSQL installed, the store tests run against a throwaway server
# (pg_virtualenv -t: its own temporary cluster, so concurrent runs and a stale
# "regress" cluster do not collide) as well as SQLite; without it, SQLite only.
PG_URL := postgresql+psycopg://$$PGUSER:$$PGPASSWORD@$$PGHOST:$$PGPORT/$$PGDATABASE

test: setup browser openssl
	$(BIN)/ruff check .
	$(BIN)/python tools/lint_layers.py
	@if command -v pg_virtualenv >/dev/null 2>&1; then \
	  pg_virtualenv -t sh -c 'POSTCHECK_TEST_DATABASE_URL="$(PG_URL)" $(BIN)/pytest -q'; \
	else \
	  echo "pg_virtualenv not found: PostgreSQL store tests skipped (apt-get install postgresql)"; \
	  $(BIN)/pytest -q; \
	fi

clean:
	rm -rf $(VENV) .postcheck .pytest_cache .ruff_cache *.egg-info
