# The two commands of README's quick start, and the checks CI runs.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint lock clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

## Run the whole pipeline locally on sample images, then stop everything.
demo: $(STAMP)
	$(BIN)/credlink demo

## Run the test suite against a real Kafka broker and S3 endpoint it starts itself.
test: $(STAMP)
	deploy/local/install-test-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Style, type and layer checks.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Re-pin constraints.txt from pyproject.toml's ranges (in a throwaway venv).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | sort > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .credlink .pytest_cache .mypy_cache .ruff_cache
