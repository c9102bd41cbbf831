# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test faults lint bench scale clean

install: $(STAMP)

# Re-installs only when the dependency lists change, so a second `make install` does nothing.
# constraints.txt pins every transitive package to the versions tested here.
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

demo: install
	$(BIN)/python -m demo.run

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# The whole fault suite: 20 kill points per flow, 500 fuzz examples each, then the results table.
FAULTS_REPORT := .faults-results.jsonl
faults: install
	@rm -f $(FAULTS_REPORT)
	-SAHELWATCH_FAULT_POINTS=20 HYPOTHESIS_PROFILE=faults SAHELWATCH_FAULTS_REPORT=$(CURDIR)/$(FAULTS_REPORT) \
		$(BIN)/python -m pytest -q -rxXs tests/faults
	$(BIN)/python -m tests.faults.report $(FAULTS_REPORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench.run

# Several workers writing one DuckLake, on this machine: a temporary PostgreSQL (Debian's
# `postgresql` package) and Prefect server, 200 local feeds, 1 worker then 4 (README, "Past one
# machine"). `make scale SCALE_ARGS="--kill"` also kills a worker mid-run.
scale: install
	$(BIN)/python -m bench.scale $(SCALE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .demo
