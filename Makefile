# The two everyday commands: `make demo` and `make test`. Both create .venv and install the project first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-floor lint bench pywb clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/pairchive demo

test: venv
	$(BIN)/pytest --durations=25

# The oldest versions pyproject.toml claims to work with: a fresh .venv-floor with every dependency pinned
# to its floor (tests/floor_constraints.py turns each `>=X` into `==X`), then a quick part of the suite:
# the pipeline stages, storage, the CLI, the schedule, and a real crawl of the sample web.
FLOOR := .venv-floor
FLOOR_TESTS := tests/test_extract.py tests/test_clean.py tests/test_language.py tests/test_relevance.py \
	tests/test_dedup.py tests/test_normalize.py tests/test_storage.py tests/test_cli.py tests/test_scheduler.py \
	tests/test_crawl_e2e.py::test_every_pairing_story_is_stored_exactly_once \
	tests/test_crawl_e2e.py::test_every_run_is_recorded_ok_with_counts \
	tests/test_crawl_e2e.py::test_the_gbk_page_is_stored_without_mojibake

test-floor:
	rm -rf $(FLOOR)
	$(PYTHON) -m venv $(FLOOR)
	$(PYTHON) tests/floor_constraints.py pyproject.toml > $(FLOOR)/constraints.txt
	$(FLOOR)/bin/pip install --quiet --constraint $(FLOOR)/constraints.txt -e '.[test]'
	$(FLOOR)/bin/pytest -q -p no:cacheprovider $(FLOOR_TESTS)
	$(FLOOR)/bin/ruff check .
	$(FLOOR)/bin/mypy
	$(FLOOR)/bin/lint-imports --no-cache

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
	rm -rf $(VENV) .venv-pywb $(FLOOR) demo-output .pytest_cache .mypy_cache .ruff_cache
