# The two everyday commands: `make demo` and `make test`. Both create .venv and install the project first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-floor lint bench bench-quick pywb browser redis-server screenshot clean

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

# The real browser the reading-room tests drive (tests/test_web_browser.py): Debian's chromium and its
# chromedriver, and CJK fonts so pages and screenshots show characters rather than boxes.
BROWSER_PACKAGES := chromium chromium-driver fonts-noto-cjk

browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "make browser: chromium and chromedriver are installed"; \
	else \
		if ! apt-cache show chromium-driver >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get update -q; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES); \
	fi

# The redis-server the distributed tests start of their own, to stop and start again (tests/redisserver.py):
# Debian's, when none is on the PATH.
redis-server:
	@if command -v redis-server >/dev/null 2>&1; then \
		echo "make redis-server: redis-server is installed"; \
	else \
		if ! apt-cache show redis-server >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get update -q; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server; \
	fi

# docs/reading-room.png, the README's picture: the search page of the demo archive in the real browser.
screenshot: demo browser
	PYTHONPATH=. $(BIN)/python docs/screenshot.py --db demo-output/demo.db --out docs/reading-room.png

# The benchmarks (benchmarks/README.md has each one's command, figures and commit). Those that read saved
# pages need BENCH_DATA=DIR, a folder of saved Chinese news pages (none ship here); the others generate
# their web on loopback.
bench: venv
	$(BIN)/python benchmarks/bench_crawl.py --pages 2000
	$(BIN)/python benchmarks/bench_reprocess.py --pages 1000
	$(BIN)/python benchmarks/bench_startup.py --rounds 15
	$(BIN)/python benchmarks/bench_daemon.py --runs 100
	@if [ -n "$(BENCH_DATA)" ]; then \
		$(BIN)/python benchmarks/bench_pipeline.py --data "$(BENCH_DATA)" --rounds 5 && \
		$(BIN)/python benchmarks/bench_search.py --data "$(BENCH_DATA)"; \
	else echo "make bench: BENCH_DATA=DIR (saved pages) also runs the per-article and search benchmarks"; fi

# A small version of each (minutes, not hours): the ratios, to see at once whether a change moved one.
bench-quick: venv
	$(BIN)/python benchmarks/quick.py $(if $(BENCH_DATA),--data "$(BENCH_DATA)")

clean:
	rm -rf $(VENV) .venv-pywb $(FLOOR) demo-output .pytest_cache .mypy_cache .ruff_cache
