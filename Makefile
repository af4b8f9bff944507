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

# The tests also need TransformerLens (the [tl] extra, < 4: 4.0 removed HookedTransformer), installed
# under a constraint that keeps the torch already there.
TL_STAMP := $(VENV)/.installed-tl
$(TL_STAMP): $(STAMP)
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/torch-pin.txt
	$(BIN)/pip install -q -c $(VENV)/torch-pin.txt -e ".[dev,tl]"
	$(BIN)/python -c "import torch, transformer_lens; print('torch', torch.__version__, 'transformer_lens ok')"
	touch $(TL_STAMP)

test: $(TL_STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(TL_STAMP)
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
