# Two commands do all the set-up on a fresh machine (Python 3.11+ is the only prerequisite):
#   make run    virtualenv, install, migrate var/zhaoshang.db, demo data, serve on 127.0.0.1:8000
#   make test   dev install, ruff, mypy, pytest on SQLite and (at the same time) on PostgreSQL when reachable
# REQUIRE_POSTGRES=1 make test fails when PostgreSQL cannot be reached (CI sets it).

PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $$p && break; \
	done)
VENV ?= .venv
BIN := $(VENV)/bin
TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
REQUIRE_POSTGRES ?= 0

.PHONY: run test lint test-sqlite test-postgres migrate demo-data openapi clean

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/zhaoshang migrate
	$(BIN)/zhaoshang demo-data
	$(BIN)/zhaoshang serve

migrate: $(BIN)/.installed
	$(BIN)/zhaoshang migrate

demo-data: $(BIN)/.installed
	$(BIN)/zhaoshang demo-data

openapi: $(BIN)/.installed
	$(BIN)/zhaoshang openapi --output openapi.json

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-sqlite: $(BIN)/.installed-dev
	env -u TEST_DATABASE_URL $(BIN)/pytest

test-postgres: $(BIN)/.installed-dev
	@if $(BIN)/python -m tests.pg_available "$(TEST_POSTGRES_URL)"; then \
		TEST_DATABASE_URL="$(TEST_POSTGRES_URL)" $(BIN)/pytest; \
	elif [ "$(REQUIRE_POSTGRES)" = "1" ]; then \
		echo "PostgreSQL is required but not reachable at $(TEST_POSTGRES_URL)"; exit 1; \
	else \
		echo "PostgreSQL not reachable at $(TEST_POSTGRES_URL): PostgreSQL run skipped (SQLite run passed)"; \
	fi

# The two runs are independent (each its own database) and CPU-bound: side by side they take the time of one.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
