# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench mutants clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Pinned CPU torch first (override: make install TORCH='torch==2.5.1'), then the project.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/groklab demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/train_speed.py
	$(BIN)/python bench/time_to_grok.py

# mutation testing of the decision rules against the fast rule tests ([tool.mutmut]); not in CI
mutants: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run > /dev/null 2>&1 || true
	$(BIN)/python bench/mutation_score.py

clean:
	rm -rf $(VENV) runs report.html
