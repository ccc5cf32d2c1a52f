# The two everyday commands: `make demo` and `make test`. Both create .venv and install the project first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint bench pywb clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/pairchive demo

test: venv
	$(BIN)/pytest --durations=25

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# pywb, the standard WARC replay tool, in an environment of its own (it pins its own gevent and
# friends): `PAIRCHIVE_TEST_PYWB=.venv-pywb/bin make test` then replays the archive's WARC files in it.
pywb: .venv-pywb/bin/wayback

.venv-pywb/bin/wayback:
	$(PYTHON) -m venv .venv-pywb
	.venv-pywb/bin/pip install --quiet 'pywb>=2.8,<3'

bench: venv
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) .venv-pywb demo-output .pytest_cache .mypy_cache .ruff_cache
