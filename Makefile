# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FIELDCHECK_DATA_DIR ?= $(CURDIR)/data

# pytest-xdist workers for `make test` (each migrates its own templates; docs/development.md)
TEST_WORKERS ?= auto

.PHONY: run test test-fast screenshots lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Migrate, load demo data into an empty database, serve on http://127.0.0.1:8000 (SQLite, local storage).
run: $(STAMP)
	$(BIN)/fieldcheck serve --demo

## The whole suite on SQLite and PostgreSQL on parallel workers, then the lint gates.
test: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist worksteal
	$(MAKE) --no-print-directory lint

## The browser journeys, writing the screenshots that docs/app.md shows into docs/screenshots/.
screenshots: $(STAMP)
	FIELDCHECK_SCREENSHOTS=1 $(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) tests/pwa_static

## SQLite only, for the quick loop.
test-fast: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -k "not postgres" -x

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	@for script in bench/*_bench.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
