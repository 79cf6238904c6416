# The two set-up commands (README): `make demo` and `make test`; then `make serve` opens the workspace. Each creates the virtual
# environment it needs from the pinned constraints, so a fresh machine needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test test-fast lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/careledger demo

# The workspace on the demo database (run `make demo` first), one demo user per role; passwords printed once.
serve: $(STAMP)
	@test -f out/demo/careledger.db || { echo "No demo database yet: run 'make demo' first"; exit 1; }
	$(BIN)/careledger serve --demo --db sqlite:///out/demo/careledger.db

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -x -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/careledger bench

clean:
	rm -rf $(VENV) out careledger.db airflow_home
