# gateway-sync: `make demo` and `make test` are all a newcomer needs (Python 3.11+, make).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := common $(patsubst %/pyproject.toml,%,$(filter-out common/pyproject.toml,$(wildcard */pyproject.toml)))
STAMP := $(VENV)/.installed
TEST_DIRS := $(wildcard */tests)
DOCKERFILES := $(wildcard */Dockerfile)

.PHONY: install demo demo-stop test lint bench clean constraints

install: $(STAMP)

$(STAMP): $(wildcard */pyproject.toml) requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt $(foreach p,$(PACKAGES),-e ./$(p)[test])
	@touch $@

# DEMO_PORT=8765 by default; a port held by something else makes the demo pick a free one
demo: install
	@$(BIN)/python scripts/demo.py

demo-stop:
	@$(PYTHON) scripts/demo.py --stop

lint: install
	$(BIN)/ruff check .
	$(BIN)/hadolint $(DOCKERFILES)

test: install lint
	$(BIN)/python -m pytest -n 2 $(TEST_DIRS)

bench: install
	@for script in bench/bench_*.py; do $(BIN)/python $$script; done

constraints: install
	$(BIN)/python scripts/constraints.py

# the demo sandbox is stopped first: it would keep serving a database that no longer exists
clean:
	@$(PYTHON) scripts/demo.py --stop
	rm -rf $(VENV) .demo .pytest_cache
