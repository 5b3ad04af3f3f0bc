# The two entry points humans and CI share (see README): `make demo` and `make test`.
# Each creates .venv on first use and installs skillscan with its dev extras into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint unit clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Scan the bundled example skills offline. The malicious examples are blocked, so the
# scan exits 1 by design; only 2 (bad input) or 3 (scanner failure) fail the demo.
demo: $(BIN)/.installed
	$(BIN)/skillscan scan examples/; status=$$?; test $$status -le 1

lint: $(BIN)/.installed
	$(BIN)/ruff check skillscan tests bench
	$(BIN)/ruff format --check skillscan tests bench
	$(BIN)/mypy --strict skillscan

unit: $(BIN)/.installed
	$(BIN)/python -m pytest -q

test: lint unit

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dist build
